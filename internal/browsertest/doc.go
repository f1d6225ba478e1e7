// Package browsertest holds the browser tests of gatehouse's HTML pages:
// the admin site (docs/admin.md) in a real headless Chromium driven over
// the DevTools protocol, each page screenshotted and checked by axe-core.
// It has no code of its own; its tests start gatehouse as serve does
// (site.Open) in their own package, so that their minutes are not counted
// against another package's test timeout.
package browsertest
