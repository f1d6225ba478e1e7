package jwt

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestJTI checks the jti of minted tokens bit by bit against RFC 9562 §5.7 and §6.2 method 3.
func TestJTI(t *testing.T) {
	random := []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08} // all a jti takes
	tests := []struct {
		name string
		now  time.Time
		iat  time.Time
		want string
	}{
		// 1700000000123 ms is 0x018bcfe5687b; 456789 ns of the millisecond is
		// floor(0.456789 * 4096) = 1871 = 0x74f; 0x01 with the variant bits is 0x81.
		{"iat now", time.Unix(1700000000, 123456789), time.Time{}, "018bcfe5687b" + "774f" + "81" + "02030405060708"},
		{"explicit iat, not now", time.Unix(1800000000, 0), time.Unix(1700000000, 123456789), "018bcfe5687b" + "774f" + "81" + "02030405060708"},
		{"start of a second", time.Unix(1700000000, 0), time.Time{}, "018bcfe56800" + "7000" + "81" + "02030405060708"},
		// 1700000000000 ms is 0x018bcfe56800; 999999999 ns is millisecond 999 (0x3e7) and
		// floor(0.999999 * 4096) = 4095.
		{"end of a second", time.Unix(1700000000, 999999999), time.Time{}, "018bcfe56be7" + "7fff" + "81" + "02030405060708"},
		{"unix epoch", time.Unix(0, 0), time.Time{}, "000000000000" + "7000" + "81" + "02030405060708"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCodec(t, func(c *Config) { c.Now, c.Random = fixed(tt.now), bytes.NewReader(random) })
			_, cl, err := c.Mint(Access, 1, tt.iat)
			if err != nil {
				t.Fatal(err)
			}
			if cl.JTI != tt.want {
				t.Errorf("jti %s, want %s", cl.JTI, tt.want)
			}
			if !jtiPattern.MatchString(cl.JTI) {
				t.Errorf("jti %s is not a uuid7 in 32 lowercase hex digits", cl.JTI)
			}
		})
	}
}

func TestIssuedAt(t *testing.T) {
	const iat = 1700000000
	// v7 builds a jti for unix millisecond ms and sub-millisecond fraction frac (of 4096).
	v7 := func(ms uint64, frac uint16) string {
		return fmt.Sprintf("%012x7%03x8%015x", ms, frac, 0x123456789abcdef)
	}
	tests := []struct {
		name string
		cl   Claims
		want time.Time
	}{
		{"uuid4 jti, as simplejwt mints", Claims{Iat: iat, JTI: "e2ff709df1ca46bda6f997e5ef7d44ac"}, time.Unix(iat, 0)},
		{"no jti", Claims{Iat: iat}, time.Unix(iat, 0)},
		{"no iat and no jti", Claims{}, time.Unix(0, 0)},
		{"v7 in the iat second", Claims{Iat: iat, JTI: v7(iat*1000+123, 0x74f)}, time.Unix(iat, 123456787)},
		{"v7 at the start of the iat second", Claims{Iat: iat, JTI: v7(iat*1000, 0)}, time.Unix(iat, 0)},
		{"v7 at the end of the iat second", Claims{Iat: iat, JTI: v7(iat*1000+999, 0xfff)}, time.Unix(iat, 999999755)},
		{"v7 a millisecond before the iat second", Claims{Iat: iat, JTI: v7(iat*1000-1, 0xfff)}, time.Unix(iat, 0)},
		{"v7 in the next second", Claims{Iat: iat, JTI: v7(iat*1000+1000, 0)}, time.Unix(iat, 0)},
		{"v7 an hour before iat", Claims{Iat: iat, JTI: v7(iat*1000-3600000, 5)}, time.Unix(iat, 0)},
		{"v7 with negative iat", Claims{Iat: -1, JTI: v7(0, 5)}, time.Unix(-1, 0)},
		{"v7 in uppercase", Claims{Iat: iat, JTI: "018BCFE5687B774F8123456789ABCDEF"}, time.Unix(iat, 0)},
		{"v7 with a wrong variant", Claims{Iat: iat, JTI: "018bcfe5687b774fc123456789abcdef"}, time.Unix(iat, 0)},
		{"version 6", Claims{Iat: iat, JTI: "018bcfe5687b674f8123456789abcdef"}, time.Unix(iat, 0)},
		{"v7 with dashes", Claims{Iat: iat, JTI: "018bcfe5-687b-774f-8123-456789abcdef"}, time.Unix(iat, 0)},
		{"v7 one digit short", Claims{Iat: iat, JTI: "018bcfe5687b774f8123456789abcde"}, time.Unix(iat, 0)},
		{"v7 with a non-hex digit", Claims{Iat: iat, JTI: "018bcfe5687b774f8123456789abcdeg"}, time.Unix(iat, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cl.IssuedAt(); !got.Equal(tt.want) {
				t.Errorf("IssuedAt = %v, want %v", got.UTC().Format(time.RFC3339Nano), tt.want.UTC().Format(time.RFC3339Nano))
			}
		})
	}
}

// TestIssuedAtRoundTrip mints at times with sub-second parts and reads them back from the
// minted and from the parsed claims: never later than the true time, at most 245 ns earlier.
func TestIssuedAtRoundTrip(t *testing.T) {
	for _, ns := range []int64{0, 1, 999, 1000, 123456, 244140, 244141, 500000000, 999999000, 999999999} {
		for _, explicit := range []bool{false, true} {
			at := time.Unix(1700000000, ns)
			now, iat := at, time.Time{}
			if explicit { // an access token minted from a refresh token issued earlier
				now, iat = at.Add(90*time.Second+time.Microsecond), at
			}
			c := newCodec(t, func(c *Config) { c.Now = fixed(now) })
			tok, minted, err := c.Mint(Access, 1, iat)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := c.Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			if minted.Iat != at.Unix() {
				t.Errorf("%d ns, explicit %v: iat %d, want %d", ns, explicit, minted.Iat, at.Unix())
			}
			for _, cl := range []Claims{minted, parsed} {
				got := cl.IssuedAt()
				if d := at.Sub(got); d < 0 || d > 245*time.Nanosecond {
					t.Errorf("%d ns, explicit %v: IssuedAt %v is %v before the issue time %v", ns, explicit, got, d, at)
				}
			}
		}
	}
}

// TestIssuedAtOrder mints tokens a millisecond and a microsecond apart, within a second and
// across one, and expects IssuedAt in the same order.
func TestIssuedAtOrder(t *testing.T) {
	now := time.Unix(1700000000, 999000000)
	c := newCodec(t, func(c *Config) { c.Now = func() time.Time { return now } })
	var prev time.Time
	for i, step := range []time.Duration{0, time.Millisecond, time.Millisecond, time.Microsecond, time.Microsecond, time.Millisecond} {
		now = now.Add(step)
		_, cl, err := c.Mint(Refresh, 1, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got := cl.IssuedAt()
		if i > 0 && !got.After(prev) {
			t.Errorf("token %d, minted %v after the previous one: IssuedAt %v, previous %v", i, step, got, prev)
		}
		prev = got
	}
}
