#!/usr/bin/ruby
# Password, refresh and error flows against a running gatehouse with a real
# client in another language: Ruby's oauth2 gem (Debian package ruby-oauth2).
#
#     ruby compat/ruby_oauth2_client.rb http://127.0.0.1:8000
#
# The server must hold the reference fixture (gatehouse loaddata
# shared/reference/django-dumpdata.json): alice/alicepass, conf-client /
# conf-secret (confidential, password grant) and pub-client (public).
# Prints one line per check and a final 'N passed, M failed'; exits 1 on
# any failure.
require "oauth2"
require "json"

base = (ARGV[0] || abort("usage: ruby_oauth2_client.rb BASE_URL")).chomp("/")
$results = []

def check(name, ok, detail = "")
  $results << !!ok
  puts "#{ok ? 'ok  ' : 'FAIL'} #{name}#{!ok && !detail.to_s.empty? ? ': ' + detail.to_s : ''}"
end

# error_code is the OAuth error the block raised, or nil.
def error_code
  yield
  nil
rescue OAuth2::Error => e
  e.code
end

def me(client, token)
  OAuth2::AccessToken.new(client, token).get("/api/me/", raise_errors: false)
end

begin
  conf = OAuth2::Client.new("conf-client", "conf-secret", site: base, token_url: "/o/token/", auth_scheme: :basic_auth)
  tok = conf.password.get_token("alice", "alicepass")
  check("password grant returns a bearer token", tok.token.length == 30 && tok.params["token_type"] == "Bearer", tok.params.inspect)
  check("it has a refresh token and expires", tok.refresh_token.to_s.length == 30 && tok.expires_in == 36000)
  r = tok.get("/api/me/")
  check("the token authenticates /api/me/", r.status == 200 && JSON.parse(r.body)["username"] == "alice", r.body)

  fresh = tok.refresh!
  check("refresh gives a new access token", fresh.token != tok.token && fresh.refresh_token != tok.refresh_token)
  check("the old access token stops working", me(conf, tok.token).status == 401)
  check("the new access token works", me(conf, fresh.token).status == 200)
  check("replaying the rotated refresh token is invalid_grant", error_code { tok.refresh! } == "invalid_grant")
  check("the replay revoked the family's access token", me(conf, fresh.token).status == 401)

  check("a wrong password is invalid_grant", error_code { conf.password.get_token("alice", "wrong") } == "invalid_grant")
  bad = OAuth2::Client.new("conf-client", "wrong", site: base, token_url: "/o/token/", auth_scheme: :basic_auth)
  check("a wrong client secret is invalid_client", error_code { bad.password.get_token("alice", "alicepass") } == "invalid_client")
  check("an unknown scope is invalid_scope", error_code { conf.password.get_token("alice", "alicepass", scope: "admin") } == "invalid_scope")

  pub = OAuth2::Client.new("pub-client", nil, site: base, token_url: "/o/token/", auth_scheme: :request_body)
  ptok = pub.password.get_token("alice", "alicepass")
  check("a public client's password grant", ptok.token.length == 30)
  check("a public client's refresh", me(pub, ptok.refresh!.token).status == 200)
  narrowed = conf.password.get_token("alice", "alicepass", scope: "read")
  check("a narrower scope is granted as asked", narrowed.params["scope"] == "read", narrowed.params.inspect)
rescue StandardError => e
  check("unexpected #{e.class}", false, e.message)
end

failed = $results.count(false)
puts "#{$results.length - failed} passed, #{failed} failed"
exit(failed.zero? ? 0 : 1)
