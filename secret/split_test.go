package secret_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/secret"
)

func TestSplitTokens(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	tok, err := secret.SplitToken(nil, now)
	if err != nil || len(tok) != secret.SplitLen || !secret.IsSplit(tok) {
		t.Fatalf("SplitToken: %q %v", tok, err)
	}
	next, err := secret.Resplit(nil, tok)
	if err != nil || !secret.IsSplit(next) || next[:secret.SelectorLen] != tok[:secret.SelectorLen] || next[secret.SelectorLen:] == tok[secret.SelectorLen:] {
		t.Fatalf("Resplit: %q from %q, %v", next, tok, err)
	}
	if _, err := secret.Resplit(nil, tok[:29]); err == nil {
		t.Fatal("Resplit of a 30-character token succeeded")
	}
	keys := secret.NewSelectors("a server secret")
	ref, nextRef := keys.RefreshKey(tok), keys.RefreshKey(next)
	sel, ver, whole, ok := secret.SplitRef(ref)
	if !ok || !bytes.Equal(sel, keys.Key(tok)) || !bytes.Equal(ver, secret.Hash(tok)) || !bytes.Equal(whole, secret.TokenKey(tok)) {
		t.Fatalf("SplitRef(%x) = %x %x %x %v", ref, sel, ver, whole, ok)
	}
	nsel, nver, _, _ := secret.SplitRef(nextRef)
	if !bytes.Equal(sel, nsel) || bytes.Equal(ver, nver) {
		t.Fatal("a resplit token has another selector key, or the same verifier")
	}
	// The selector's key is not the key of a whole token of the
	// selector's characters, and depends on the server secret.
	if bytes.Equal(sel, secret.TokenKey(tok[:secret.SelectorLen])) {
		t.Fatal("selector key equals a whole token's key")
	}
	if bytes.Equal(sel, secret.NewSelectors("another server secret").Key(tok)) || !bytes.Equal(sel, secret.NewSelectors("a server secret").Key(tok)) {
		t.Fatal("a selector's key does not follow the server secret")
	}
	for _, bad := range []string{"", tok[:29], tok + "a", strings.Replace(tok, tok[20:21], "-", 1), "abc"} {
		if secret.IsSplit(bad) {
			t.Errorf("IsSplit(%q)", bad)
		}
		if _, _, _, ok := secret.SplitRef(keys.RefreshKey(bad)); ok {
			t.Errorf("SplitRef of %q's key: split", bad)
		}
		if !bytes.Equal(keys.RefreshKey(bad), secret.TokenKey(bad)) {
			t.Errorf("RefreshKey(%q) is not its TokenKey", bad)
		}
	}
}
