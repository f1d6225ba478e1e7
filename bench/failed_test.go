package main

import "testing"

// A case fails a smoke run on any request error in its window, or when
// nothing answered at all; a case whose answers all came outside a window
// shorter than one request (a hash-bound login in a 200 ms smoke window
// on a loaded machine) did not fail.
func TestResultFailed(t *testing.T) {
	for _, c := range []struct {
		name string
		r    result
		want bool
	}{
		{"answered in the window", result{total: 5}, false},
		{"an error in the window", result{total: 5, errors: 1}, true},
		{"answered only outside the window", result{answered: 3}, false},
		{"nothing answered", result{}, true},
		{"errors, answers outside the window", result{total: 1, errors: 1, answered: 2}, true},
		{"a value row", result{value: "24.3 MB"}, false},
	} {
		if got := c.r.failed(); got != c.want {
			t.Errorf("%s: failed() = %v, want %v", c.name, got, c.want)
		}
	}
}
