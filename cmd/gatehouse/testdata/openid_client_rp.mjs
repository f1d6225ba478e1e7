// A relying party written with openid-client (Node.js), run against
// `gatehouse serve` by TestOIDCNodeClient. It is given the issuer URL and
// its client credentials only; every endpoint comes from discovery, and
// openid-client checks every answer as it does for any provider (issuer,
// state, PKCE, the id_token's signature, audience, nonce, at_hash).
//
// usage: node openid_client_rp.mjs ISSUER CLIENT_ID CLIENT_SECRET USERNAME PASSWORD REDIRECT_URI
// Prints "ok" and exits 0 when every step passed; any failure throws.
import * as client from 'openid-client';

const [issuer, clientId, clientSecret, username, password, redirectUri] = process.argv.slice(2);
const check = (ok, what) => { if (!ok) throw new Error('check failed: ' + what); };

// The test server listens on loopback http, which openid-client refuses
// unless told.
const config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined,
  { execute: [client.allowInsecureRequests] });
check(config.serverMetadata().issuer === issuer, 'issuer ' + config.serverMetadata().issuer);

// The user logs in on gatehouse's login page (a browser: cookies by hand).
const jar = new Map();
const keep = (res) => {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
};
const cookies = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
let res = await fetch(issuer + '/admin/login/', { redirect: 'manual' });
keep(res);
const csrf = (await res.text()).match(/name="csrfmiddlewaretoken" value="([^"]+)"/)[1];
res = await fetch(issuer + '/admin/login/', {
  method: 'POST', redirect: 'manual',
  headers: { cookie: cookies(), 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ csrfmiddlewaretoken: csrf, username, password }),
});
keep(res);
check(res.status === 302, 'login answered ' + res.status);

// The code flow with PKCE, state and a nonce.
const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri, scope: 'openid profile email', state, nonce,
  code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
});
res = await fetch(url, { redirect: 'manual', headers: { cookie: cookies() } });
check(res.status === 302, 'authorize answered ' + res.status);
const tokens = await client.authorizationCodeGrant(config, new URL(res.headers.get('location')),
  { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
const claims = tokens.claims();
check(claims.aud === clientId && claims.nonce === nonce && claims.email, 'id_token ' + JSON.stringify(claims));

const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
check(info.preferred_username === username, 'userinfo ' + JSON.stringify(info));
const active = await client.tokenIntrospection(config, tokens.access_token);
check(active.active === true && active.client_id === clientId, 'introspection ' + JSON.stringify(active));

// Refresh: a new pair; the old refresh token replayed is refused.
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
check(refreshed.access_token && refreshed.access_token !== tokens.access_token, 'refresh');
check(refreshed.claims().sub === claims.sub, 'refreshed id_token');
let replay = null;
try { await client.refreshTokenGrant(config, tokens.refresh_token); } catch (e) { replay = e; }
check(replay && replay.error === 'invalid_grant', 'a replayed refresh token: ' + replay);

// Revocation: the token is no longer active.
await client.tokenRevocation(config, refreshed.access_token);
const revoked = await client.tokenIntrospection(config, refreshed.access_token);
check(revoked.active === false, 'after revocation ' + JSON.stringify(revoked));

// RP-initiated logout back to the registered URI.
res = await fetch(client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://rp.example/bye', state: 's',
}), { redirect: 'manual', headers: { cookie: cookies() } });
check(res.status === 302 && res.headers.get('location') === 'https://rp.example/bye?state=s',
  'logout answered ' + res.status + ' ' + res.headers.get('location'));
console.log('ok');
