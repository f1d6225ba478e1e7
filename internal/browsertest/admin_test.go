package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/npmtest"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/site"
)

// The admin site in a real browser: Debian's Chromium, headless, driven
// over the DevTools protocol (chromedp). Each page visited is saved as a
// PNG (GATEHOUSE_TEST_ARTIFACTS, default a temporary directory; with
// GATEHOUSE_TEST_ADMIN_DOCS=docs/admin the pages of docs/admin.md are
// written there too) and checked by axe-core, injected into the page: a
// "serious" or "critical" violation fails the test.
//
// Chromium is /usr/bin/chromium (or GATEHOUSE_TEST_CHROMIUM); axe-core is
// the file GATEHOUSE_TEST_AXE names, else installed with npm into the
// user's cache directory. Without either the test is skipped, unless
// GATEHOUSE_TEST_BROWSER_REQUIRED=1 (CI), when it fails.

// axeVersion is the axe-core release the test installs when
// GATEHOUSE_TEST_AXE names none.
const axeVersion = "4.14.1"

// browserTools returns Chromium's path and axe-core's source, or skips
// (fails when required) naming what is missing.
func browserTools(t *testing.T) (chromium string, axe []byte) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("GATEHOUSE_TEST_BROWSER_REQUIRED") == "1" {
			t.Fatalf("GATEHOUSE_TEST_BROWSER_REQUIRED=1 and %s", msg)
		}
		t.Skipf("skipping the browser test: %s (set GATEHOUSE_TEST_BROWSER_REQUIRED=1 to fail instead)", msg)
	}
	chromium = os.Getenv("GATEHOUSE_TEST_CHROMIUM")
	if chromium == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		missing("Chromium is not installed (apt-get install chromium, or set GATEHOUSE_TEST_CHROMIUM)")
	}
	path := os.Getenv("GATEHOUSE_TEST_AXE")
	if path == "" {
		var err error
		if path, err = installAxe(); err != nil {
			missing("axe-core is not available (set GATEHOUSE_TEST_AXE to axe.min.js): %v", err)
		}
	}
	axe, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(axe, []byte("axe")) {
		missing("axe-core: cannot read %s: %v", path, err)
	}
	return chromium, axe
}

// installAxe installs axe-core with npm into the user's cache directory
// (once; later runs find it there) and returns the path of axe.min.js.
func installAxe() (string, error) {
	dir, err := npmtest.Install("axe-core", axeVersion)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "node_modules", "axe-core", "axe.min.js"), nil
}

// artifactsDir is where the screenshots and axe reports go.
func artifactsDir(t *testing.T, sub string) string {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, sub)
	os.RemoveAll(dir) // a previous run's
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// page is one browser tab on the admin site.
type page struct {
	t        *testing.T
	ctx      context.Context
	base     string
	axe      []byte
	dir      string // screenshots and reports
	docs     string // also write the screenshots named for the docs here ("": not)
	shots    int
	axeFound []string // every violation seen, serious or not, for the report
}

// startBrowser starts Chromium with the flags that work on a machine
// without network access (no background requests, no sandbox as root)
// and a fresh profile; it is stopped when the test ends.
func startBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, without a timeout
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// step runs actions with a bound, failing the test on an error.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// submit clicks sel (a submit button) and waits for the page it loads,
// returning its status.
func (p *page) submit(what, sel string) int64 {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
	return res.Status
}

// open loads path and returns the status of the page it ends on.
func (p *page) open(path string) int64 {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(p.base+path))
	if err != nil {
		p.t.Fatalf("open %s: %v", path, err)
	}
	return res.Status
}

// openUntil opens path until its page has an element sel, for pages that
// show what is written behind the request (the audit log); it fails the
// test after 10 s or on a status other than 200.
func (p *page) openUntil(path, sel string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st := p.open(path); st != http.StatusOK {
			p.t.Fatalf("open %s: %d", path, st)
		}
		if string(p.eval(fmt.Sprintf("document.querySelector(%q) !== null", sel))) == "true" {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: no %s after 10 s", path, sel)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// text is the text of the first element sel selects.
func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (p *page) eval(expr string, opts ...chromedp.EvaluateOption) []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, opts...))
	if err != nil {
		p.t.Fatalf("evaluate %.60s: %v", expr, err)
	}
	return b
}

// value is the value of the first input sel selects.
func (p *page) value(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

// waitText waits until the element sel says want.
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := p.text(sel)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s says %q, want %q", sel, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// location is the path and query of the page shown.
func (p *page) location() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, p.base)
}

// docShots are the pages docs/admin.md shows.
var docShots = map[string]bool{"dashboard": true, "users": true, "user-add-errors": true, "user-edit": true, "application-created": true,
	"tokens": true, "application-delete": true, "audit": true, "status": true, "forbidden": true}

// check saves a screenshot of the whole page as name.png and runs axe-core
// on it: a serious or critical violation fails the test; the others are
// logged and written to name.axe.json.
func (p *page) check(name string) {
	p.t.Helper()
	p.shots++
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	file := fmt.Sprintf("%02d-%s", p.shots, name)
	if err := os.WriteFile(filepath.Join(p.dir, file+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	if p.docs != "" && docShots[name] {
		if err := os.WriteFile(filepath.Join(p.docs, name+".png"), png, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	// The page's CSP does not apply to what DevTools evaluates.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](string(p.axe))); err != nil {
		p.t.Fatalf("injecting axe-core into %s: %v", name, err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary)}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("axe-core on %s: %v", name, err)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		p.t.Fatalf("axe-core on %s answered %s", name, raw)
	}
	var violations []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	if err := json.Unmarshal([]byte(s), &violations); err != nil {
		p.t.Fatalf("axe-core on %s answered %s", name, s)
	}
	os.WriteFile(filepath.Join(p.dir, file+".axe.json"), []byte(s), 0o644)
	for _, v := range violations {
		p.axeFound = append(p.axeFound, name+": "+v.Impact+" "+v.ID)
		if v.Impact == "serious" || v.Impact == "critical" {
			p.t.Errorf("axe-core on %s: %s violation %s (%s): %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			p.t.Logf("axe-core on %s: %s violation %s (%s): %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

// login fills in the login page the browser was sent to and submits it.
func (p *page) login(username, password string) int64 {
	p.t.Helper()
	p.do("login form", chromedp.WaitVisible(chromedp.ID("id_username")),
		chromedp.SetValue(chromedp.ID("id_username"), username),
		chromedp.SetValue(chromedp.ID("id_password"), password))
	return p.submit("login", `input[type=submit]`)
}

func TestAdminBrowser(t *testing.T) {
	chromium, axe := browserTools(t)
	docs := os.Getenv("GATEHOUSE_TEST_ADMIN_DOCS") // relative: to the repository's root
	if docs != "" {
		if !filepath.IsAbs(docs) {
			docs = filepath.Join("..", "..", docs)
		}
		if err := os.MkdirAll(docs, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			adminBrowserScenario(t, backend, chromium, axe, docs)
		})
	}
}

func adminBrowserScenario(t *testing.T, backend, chromium string, axe []byte, docs string) {
	base := serveSite(t, backend, []newUser{
		{Username: "admin", Email: "admin@example.com", Password: "admin passphrase 1", IsStaff: true, IsSuperuser: true},
		{Username: "plain", Email: "plain@example.com", Password: "plain passphrase 1"},
	})

	ctx := startBrowser(t, chromium)
	p := &page{t: t, ctx: ctx, base: base, axe: axe, dir: artifactsDir(t, "admin-"+backend), docs: docs}
	defer func() { t.Logf("screenshots and axe reports in %s; violations below serious: %v", p.dir, p.axeFound) }()
	// A focused page: the clipboard API answers only a focused document.
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}

	// Anonymous: the admin site sends the browser to the login page,
	// which brings it back after logging in.
	if st := p.open("/admin/"); st != http.StatusOK || !strings.HasPrefix(p.location(), "/admin/login/?next=") {
		t.Fatalf("anonymous /admin/: %d at %s", st, p.location())
	}
	p.check("login")
	if st := p.login("admin", "admin passphrase 1"); st != http.StatusOK || p.location() != "/admin/" {
		t.Fatalf("after login: %d at %s", st, p.location())
	}
	if h := p.text("h1"); h != "Administration" {
		t.Fatalf("dashboard heading %q", h)
	}
	p.check("dashboard")

	adminBrowserUsers(t, p)
	adminBrowserApplication(t, p, "admin", "admin passphrase 1")

	// The superuser's pages. The audit log shows the deletion just made,
	// by the admin.
	// The audit log is written behind the request (batched for up to
	// audit.Config.Linger), so the page is reloaded until the event shows.
	p.openUntil("/admin/audit/?event=application.deleted", "tbody tr")
	if row := p.text("tbody tr"); !strings.Contains(row, "application.deleted") {
		t.Fatalf("audit log's row: %q", row)
	}
	p.open("/admin/audit/")
	p.check("audit")
	for _, pg := range []struct{ path, name string }{{"/admin/keys/", "keys"}, {"/admin/status/", "status"}} {
		if st := p.open(pg.path); st != http.StatusOK {
			t.Fatalf("%s: %d", pg.path, st)
		}
		p.check(pg.name)
	}
	if db := p.text("main dl"); !strings.Contains(db, "reachable, takes writes") {
		t.Fatalf("status page: %q", db)
	}

	// The admin's own browser session on the tokens page: this browser,
	// from this address. Revoked there, it ends at once: the next page
	// asks for a login, and a new login starts a new session.
	if st := p.open("/admin/tokens/?kind=session"); st != http.StatusOK {
		t.Fatalf("sessions on the tokens page: %d", st)
	}
	if rows, row := string(p.eval(`document.querySelectorAll("tbody tr").length`)), p.text("tbody tr"); rows != "1" ||
		!strings.Contains(row, "Chrome") || !strings.Contains(row, "admin") || !strings.Contains(row, "from 127.0.0.1") || !strings.Contains(row, "last seen") {
		t.Fatalf("the sessions page shows %s rows: %q", rows, row)
	}
	p.check("sessions")
	p.do("check the session", chromedp.Click(chromedp.CSS(`tbody input[name="ids"]`)))
	if st := p.submit("revoke the session", "#revoke-form button[type=submit]"); st != http.StatusOK || !strings.HasPrefix(p.location(), "/admin/login/?next=") {
		t.Fatalf("after revoking the admin's own session: %d at %s", st, p.location())
	}
	if st := p.login("admin", "admin passphrase 1"); st != http.StatusOK || !strings.HasPrefix(p.location(), "/admin/tokens/") {
		t.Fatalf("logging in again: %d at %s", st, p.location())
	}
	p.open("/admin/tokens/?kind=session&state=all")
	if rows := string(p.eval(`document.querySelectorAll("tbody tr").length`)); rows != "2" || !strings.Contains(p.text("tbody"), "revoked") {
		t.Fatalf("sessions after logging in again: %s rows: %q", rows, p.text("tbody"))
	}

	// Log out with the button in the header: back to the login page.
	if st := p.submit("logout", ".logout button"); st != http.StatusOK || !strings.HasPrefix(p.location(), "/admin/login/") {
		t.Fatalf("logout: %d at %s", st, p.location())
	}

	// A user without is_staff logs in and is refused with the 403 page.
	p.open("/admin/")
	if st := p.login("plain", "plain passphrase 1"); st != http.StatusForbidden {
		t.Fatalf("non-staff: %d at %s", st, p.location())
	}
	if msg := p.text("main"); !strings.Contains(msg, "not a staff account") {
		t.Fatalf("non-staff page says %q", msg)
	}
	p.check("forbidden")
}

// adminBrowserUsers goes through the users pages: the list with a search,
// the add form refusing a weak password (the validator's words on the
// field, linked to it) and a post without its CSRF token, then a user
// created, and the groups and permissions pages.
func adminBrowserUsers(t *testing.T, p *page) {
	if st := p.open("/admin/users/?q=adm"); st != http.StatusOK {
		t.Fatalf("users list: %d", st)
	}
	if cell := p.text("tbody th"); cell != "admin" {
		t.Fatalf("users list searched for adm shows %q", cell)
	}
	p.check("users")

	// A weak password: the form comes back 400 with the validator's
	// message on the field, linked by aria-describedby.
	p.open("/admin/users/add/")
	p.do("fill the user form", chromedp.SetValue(chromedp.ID("id_username"), "alice"),
		chromedp.SetValue(chromedp.ID("id_email"), "alice@example.com"),
		chromedp.SetValue(chromedp.ID("id_password"), "123"),
		chromedp.SetValue(chromedp.ID("id_password2"), "123"))
	if st := p.submit("add a user with a weak password", "main form button[type=submit]"); st != http.StatusBadRequest {
		t.Fatalf("weak password: %d", st)
	}
	linked := string(p.eval(`(() => { const i = document.getElementById("id_password");
		const ids = (i.getAttribute("aria-describedby") || "").split(" ");
		return i.getAttribute("aria-invalid") + "|" + ids.map(id => (document.getElementById(id) || {}).textContent || "").join("|"); })()`))
	if !strings.Contains(linked, "true|") || !strings.Contains(linked, "too short") {
		t.Fatalf("the weak password's error is not linked to its field: %s", linked)
	}
	if focused := string(p.eval(`document.activeElement.id`)); focused != `"form-errors"` {
		t.Errorf("the focus is on %s, not on the error summary", focused)
	}
	p.check("user-add-errors")

	// The same form posted without its CSRF token is refused and creates
	// nobody.
	p.open("/admin/users/add/")
	p.do("fill the user form", chromedp.SetValue(chromedp.ID("id_username"), "csrfvictim"),
		chromedp.SetValue(chromedp.ID("id_password"), "a fine passphrase 9"),
		chromedp.SetValue(chromedp.ID("id_password2"), "a fine passphrase 9"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("main form input[name=csrfmiddlewaretoken]").remove()`))
	if st := p.submit("post without CSRF", "main form button[type=submit]"); st != http.StatusForbidden {
		t.Fatalf("a form without its CSRF token: %d", st)
	}
	if body := p.text("body"); !strings.Contains(body, "CSRF verification failed") {
		t.Fatalf("the CSRF refusal says %q", body)
	}
	p.check("csrf-refused")
	p.open("/admin/users/?q=csrfvictim")
	if body := p.text("main"); !strings.Contains(body, "No user matches") {
		t.Fatalf("the refused form created a user: %q", body)
	}

	// A good one: created, and the browser is on the user's page.
	p.open("/admin/users/add/")
	p.do("fill the user form", chromedp.SetValue(chromedp.ID("id_username"), "alice"),
		chromedp.SetValue(chromedp.ID("id_email"), "alice@example.com"),
		chromedp.SetValue(chromedp.ID("id_first_name"), "Alice"),
		chromedp.SetValue(chromedp.ID("id_password"), "a fine passphrase 9"),
		chromedp.SetValue(chromedp.ID("id_password2"), "a fine passphrase 9"))
	if st := p.submit("add a user", "main form button[type=submit]"); st != http.StatusOK {
		t.Fatalf("add user: %d at %s", st, p.location())
	}
	if h := p.text("h1"); h != "Change user alice" {
		t.Fatalf("after creating alice: %q at %s", h, p.location())
	}
	if flash := p.text(".flash"); flash != "Created." {
		t.Fatalf("flash %q", flash)
	}
	p.check("user-edit")

	for _, pg := range []struct{ path, name string }{{"/admin/groups/", "groups"}, {"/admin/groups/add/", "group-add"}, {"/admin/permissions/", "permissions"}} {
		if st := p.open(pg.path); st != http.StatusOK {
			t.Fatalf("%s: %d", pg.path, st)
		}
		p.check(pg.name)
	}
}

// adminBrowserApplication is the scenario: the staff user creates
// a confidential application, copies its secret with the Copy button, a
// password grant with it succeeds, the token shows on the tokens page and
// is revoked there, and its next use is a 401. Then the application's
// pages, its deletion included.
func adminBrowserApplication(t *testing.T, p *page, username, password string) {
	p.open("/admin/applications/add/")
	p.do("fill the application form", chromedp.SetValue(chromedp.ID("id_name"), "Shop backend"),
		chromedp.Click(chromedp.ID("id_grant_types-0")), // authorization code, checked by default: off
		chromedp.Click(chromedp.ID("id_grant_types-1")), // password: on
	)
	if st := p.submit("create the application", "main form button[type=submit]"); st != http.StatusOK {
		t.Fatalf("create application: %d at %s", st, p.location())
	}
	if h := p.text("h1"); h != "Application created" {
		t.Fatalf("after creating the application: %q", h)
	}
	clientID := p.value("#client-id")
	secret := p.value("#client-secret")
	if len(clientID) < 20 || len(secret) < 40 || strings.Contains(p.location(), secret) {
		t.Fatalf("client id %q, secret of %d characters, at %s", clientID, len(secret), p.location())
	}

	// The Copy button writes the secret to the clipboard. The page may
	// read the clipboard once the test grants it the permission (DevTools'
	// Browser.setPermission), as a user would be asked.
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(p.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm}, Setting: browser.PermissionSettingGranted, Origin: p.base}); err != nil {
			t.Fatalf("granting %s: %v", perm, err)
		}
	}
	p.do("click Copy", chromedp.Click(chromedp.CSS(`button[data-copy="client-secret"]`), chromedp.NodeVisible))
	p.waitText("#client-secret-status", "Copied to the clipboard.")
	var clip string
	if err := json.Unmarshal(p.eval(`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise), &clip); err != nil || clip != secret {
		t.Fatalf("the clipboard holds %q (%v), want the secret shown", clip, err)
	}
	p.check("application-created")

	// A password grant with the copied secret (Go's HTTP client).
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	req, _ := http.NewRequest("POST", p.base+"/o/token/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clip)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if res.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("password grant with the copied secret: %d", res.StatusCode)
	}
	me := func() int {
		req, _ := http.NewRequest("GET", p.base+"/api/me/", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := me(); st != 200 {
		t.Fatalf("the new access token on /api/me/: %d", st)
	}

	// The token on the tokens page, filtered by the application; checked
	// and revoked there.
	if st := p.open("/admin/tokens/?application=" + url.QueryEscape(clientID) + "&kind=oauth-access"); st != http.StatusOK {
		t.Fatalf("tokens page: %d", st)
	}
	rows := string(p.eval(`document.querySelectorAll("tbody tr").length`))
	if rows != "1" || !strings.Contains(p.text("tbody tr"), username) {
		t.Fatalf("tokens page shows %s rows: %q", rows, p.text("tbody"))
	}
	p.check("tokens")
	p.do("check the token", chromedp.Click(chromedp.CSS(`tbody input[name="ids"]`)))
	if st := p.submit("revoke", "#revoke-form button[type=submit]"); st != http.StatusOK {
		t.Fatalf("revoke: %d at %s", st, p.location())
	}
	if flash := p.text(".flash"); flash != "Revoked 1 credential(s)." {
		t.Fatalf("after revoking: %q", flash)
	}
	if loc := p.location(); !strings.Contains(loc, "application="+url.QueryEscape(clientID)) {
		t.Errorf("after revoking the page lost its filters: %s", loc)
	}
	if st := me(); st != http.StatusUnauthorized {
		t.Fatalf("the revoked access token on /api/me/: %d, want 401", st)
	}

	// The application's pages: the list, its page, the deletion page
	// saying what it ends, the deletion.
	p.open("/admin/applications/")
	p.check("applications")
	appPath := "/admin/applications/" + url.PathEscape(clientID) + "/"
	if st := p.open(appPath); st != http.StatusOK {
		t.Fatalf("application page: %d", st)
	}
	p.check("application-edit")
	p.open(appPath + "delete/")
	if txt := p.text("main"); !strings.Contains(txt, "live access tokens") {
		t.Fatalf("the deletion page says %q", txt)
	}
	p.check("application-delete")
	// The refresh token the password grant issued is still live: the
	// deletion ends it.
	if st := p.submit("delete the application", "main form button[type=submit]"); st != http.StatusOK ||
		p.text(".flash") != "Deleted the application and the 1 live token(s) it held." {
		t.Fatalf("delete: %d at %s: %q", st, p.location(), p.text(".flash"))
	}
	if st := p.open(appPath); st != http.StatusNotFound {
		t.Fatalf("the deleted application's page: %d", st)
	}
}

type newUser = accounts.NewUser

// serveSite starts gatehouse on a fresh database of backend as serve does
// (site.Open: every route and the background work), with users, behind
// an httptest server; both stop when the test ends.
func serveSite(t *testing.T, backend string, users []newUser) string {
	t.Helper()
	env := map[string]string{
		"GATEHOUSE_DATABASE_URL":  testdb.URL(t, backend),
		"GATEHOUSE_SECRET_KEY":    "test-secret-key-0123456789abcdef",
		"GATEHOUSE_LOG_LEVEL":     "error",
		"GATEHOUSE_ARGON2_MEMORY": "1024",
		"GATEHOUSE_ARGON2_TIME":   "1",
	}
	cfg, err := site.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s, err := site.Open(context.Background(), cfg, site.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := s.Accounts.Create(context.Background(), u); err != nil {
			s.Close()
			t.Fatalf("creating %s: %v", u.Username, err)
		}
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Close() })
	return hs.URL
}
