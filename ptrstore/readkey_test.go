package ptrstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestReadKeyAddr(t *testing.T) {
	for _, tc := range []struct {
		text string // after "rptr:ptr:"
		want string // the address meant; "" for none
		how  KeyText
		err  string
	}{
		{text: "192.0.2.10", want: "192.0.2.10", how: Canonical},
		{text: "2001:db8::1", want: "2001:db8::1", how: Canonical},
		{text: "::ffff:192.0.2.1", want: "::ffff:192.0.2.1", how: Canonical},
		{text: "2001:0db8::1", want: "2001:db8::1", how: NonCanonical},
		{text: "2001:DB8::1", want: "2001:db8::1", how: NonCanonical},
		{text: "2001:db8:0:0:0:0:0:1", want: "2001:db8::1", how: NonCanonical},
		{text: "2001:0:0:1:0:0:0:1", want: "2001:0:0:1::1", how: NonCanonical},
		{text: "::FFFF:192.0.2.1", want: "::ffff:192.0.2.1", how: NonCanonical},
		{text: "::ffff:c000:201", want: "::ffff:192.0.2.1", how: NonCanonical},
		{text: "64:ff9b::192.0.2.1", want: "64:ff9b::c000:201", how: NonCanonical},
		{text: " 192.0.2.1\t", want: "192.0.2.1", how: NonCanonical},
		{text: "010.0.0.1", want: "10.0.0.1", how: LeadingZeros},
		{text: "192.000.002.001", want: "192.0.2.1", how: LeadingZeros},
		{text: "::ffff:192.000.002.001", want: "::ffff:192.0.2.1", how: LeadingZeros},
		{text: "fe80::1%eth0", want: "fe80::1", how: Zoned},
		{text: "FE80::0001%eth0", want: "fe80::1", how: Zoned},
		{text: "", how: NotAddress, err: `no address after "rptr:ptr:"`},
		{text: "foo", how: NotAddress, err: `"foo" is not an IP address`},
		{text: "192.0.2.256", how: NotAddress, err: `"192.0.2.256" is not an IP address`},
		{text: "0256.0.0.1", how: NotAddress, err: `"0256.0.0.1" is not an IP address`},
		{text: "192.0.2.1%eth0", how: NotAddress, err: `"192.0.2.1%eth0" is not an IP address`},
		{text: "10.1", how: NotAddress, err: `"10.1" is not an IP address`},
		{text: "192.0.2.0/24", how: NotAddress, err: `"192.0.2.0/24" is a network, not an address: each address has a key of its own`},
	} {
		addr, how, err := ReadKeyAddr("rptr:", "rptr:ptr:"+tc.text)
		got := ""
		if addr.IsValid() {
			got = addr.String()
		}
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		if got != tc.want || how != tc.how || errText != tc.err {
			t.Errorf("ReadKeyAddr(%q) = %q, %v, %q; want %q, %v, %q", tc.text, got, how, errText, tc.want, tc.how, tc.err)
		}
		// ReadKeyAddr agrees with KeyAddr on what is canonical.
		if _, ok := KeyAddr("rptr:", "rptr:ptr:"+tc.text); ok != (how == Canonical) {
			t.Errorf("KeyAddr(%q) ok = %v, ReadKeyAddr says %v", tc.text, ok, how)
		}
	}
	if _, how, err := ReadKeyAddr("rptr:", "other:ptr:192.0.2.1"); how != NotAddress || err == nil {
		t.Errorf("a key under another prefix: %v, %v", how, err)
	}
}

// TestMoveKey: outside a cluster a key is renamed with its value and
// expiry, never onto an existing key.
func TestMoveKey(t *testing.T) {
	_, c, prefix := newStore(t)
	opts, err := ParseRedis(ModeServer, testRedis.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	a := NewAdmin(opts, prefix)
	t.Cleanup(func() { a.Close() })
	ctx := context.Background()
	from, to, taken := prefix+"from", prefix+"to", prefix+"taken"
	c.Del(ctx, from, to, taken) // left by an earlier run with -count
	c.HSet(ctx, from, "ptr", "a.example.com", "note", "kept")
	c.PExpire(ctx, from, time.Hour)
	c.Set(ctx, taken, "b.example.com", 0)

	if moved, err := a.MoveKey(ctx, from, taken); moved || err != nil {
		t.Errorf("MoveKey onto an existing key = %v, %v; want false, nil", moved, err)
	}
	if v := c.Get(ctx, taken).Val(); v != "b.example.com" || c.Exists(ctx, from).Val() != 1 {
		t.Errorf("MoveKey onto an existing key changed it to %q or lost the source", v)
	}
	if moved, err := a.MoveKey(ctx, from, to); !moved || err != nil {
		t.Fatalf("MoveKey = %v, %v", moved, err)
	}
	if h := c.HGetAll(ctx, to).Val(); h["ptr"] != "a.example.com" || h["note"] != "kept" || len(h) != 2 {
		t.Errorf("moved hash: %v", h)
	}
	if life := c.PTTL(ctx, to).Val(); life < 59*time.Minute || life > time.Hour {
		t.Errorf("moved key's PTTL: %v", life)
	}
	if c.Exists(ctx, from).Val() != 0 {
		t.Error("the source still exists")
	}
	if _, err := a.MoveKey(ctx, from, to); !errors.Is(err, ErrNotFound) {
		t.Errorf("MoveKey of a missing key: %v, want ErrNotFound", err)
	}
}

func TestGlobEscape(t *testing.T) {
	for in, want := range map[string]string{
		"rptr:ptr:":         "rptr:ptr:",
		"a*b?c[d]e\\f:ptr:": `a\*b\?c\[d\]e\\f:ptr:`,
	} {
		if got := globEscape(in); got != want {
			t.Errorf("globEscape(%q) = %q, want %q", in, got, want)
		}
	}
}
