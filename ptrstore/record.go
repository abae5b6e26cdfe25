package ptrstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Record is a decoded PTR record.
type Record struct {
	// Name is the absolute host name the address points to, in ASCII
	// (A-label) form and with a trailing dot.
	Name string
	// TTL is the record's own TTL in seconds, when HasTTL is set.
	TTL    uint32
	HasTTL bool
	// Disabled records are kept in Redis but not served.
	Disabled bool
	// ExpiresAt is when the key expires; zero when it has no expiry.
	ExpiresAt time.Time
}

// AnswerTTL is the TTL to serve the record with at time now: the record's
// own TTL or def, capped by the key's remaining lifetime so that a resolver
// never caches the record past the key's expiry.
func (r Record) AnswerTTL(def uint32, now time.Time) uint32 {
	ttl := def
	if r.HasTTL {
		ttl = r.TTL
	}
	if !r.ExpiresAt.IsZero() {
		left := r.ExpiresAt.Sub(now) / time.Second
		if left < 0 {
			left = 0
		}
		if uint64(left) < uint64(ttl) {
			ttl = uint32(left)
		}
	}
	return ttl
}

// SameAs reports whether r and o are the same record: the same name, TTL
// and disabled flag. The key's expiry is not part of the record.
func (r Record) SameAs(o Record) bool {
	return r.Name == o.Name && r.HasTTL == o.HasTTL && (!r.HasTTL || r.TTL == o.TTL) && r.Disabled == o.Disabled
}

// MaxTTL is the largest TTL a record may carry (RFC 2181 section 8).
const MaxTTL = 1<<31 - 1

// Field names of the hash form.
const (
	FieldPTR      = "ptr"
	FieldTTL      = "ttl"
	FieldDisabled = "disabled"
)

// InvalidError reports a value in Redis that is not a valid record. The
// plugin serves such a key as if it did not exist.
type InvalidError struct {
	Key    string
	Reason string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("invalid record at key %q: %s", e.Key, e.Reason)
}

// DecodeString decodes the string form of a record: the host name alone.
func DecodeString(value string) (Record, error) {
	name, err := HostName(value)
	if err != nil {
		return Record{}, err
	}
	return Record{Name: name}, nil
}

// DecodeHash decodes the hash form of a record from its fields; a nil field
// is absent.
func DecodeHash(ptr, ttl, disabled *string) (Record, error) {
	if ptr == nil {
		return Record{}, errors.New("hash has no ptr field")
	}
	name, err := HostName(*ptr)
	if err != nil {
		return Record{}, err
	}
	r := Record{Name: name}
	if ttl != nil {
		v, err := ParseTTL(*ttl)
		if err != nil {
			return Record{}, err
		}
		r.TTL, r.HasTTL = v, true
	}
	if disabled != nil {
		v, err := ParseBool(*disabled)
		if err != nil {
			return Record{}, fmt.Errorf("disabled field: %w", err)
		}
		r.Disabled = v
	}
	return r, nil
}

// ParseTTL parses a TTL: a whole number of seconds from 0 to MaxTTL, digits
// only.
func ParseTTL(s string) (uint32, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("ttl %q is not a whole number of seconds", s)
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v > MaxTTL {
		return 0, fmt.Errorf("ttl %q is above the maximum %d", s, MaxTTL)
	}
	return uint32(v), nil
}

// ParseBool parses the disabled flag: 1, true, yes, on or 0, false, no, off,
// in any letter case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not one of 1, true, yes, on, 0, false, no, off", s)
}

// idnaProfile converts Unicode host names to A-labels with the rules of
// IDNA2008 lookups (UTS 46 mapping, no transitional processing), and checks
// the result's length limits.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.VerifyDNSLength(true),
	idna.BidiRule(),
)

// HostName validates a host name and returns it absolute (with a trailing
// dot) in ASCII form. A trailing dot in s is optional. Labels must be 1-63
// letters, digits and hyphens, not starting or ending with a hyphen, and
// the name at most 255 octets on the wire. A Unicode name is converted to
// its IDNA A-label form.
func HostName(s string) (string, error) {
	// No name this long fits in 255 octets, even as Unicode that shrinks to
	// an A-label; rejecting it early bounds the work a huge value costs.
	if len(s) > 4*255 {
		return "", fmt.Errorf("host name of %d bytes is longer than 255 octets", len(s))
	}
	if !utf8.ValidString(s) {
		return "", errors.New("host name is not valid UTF-8")
	}
	name := strings.TrimSuffix(s, ".")
	if name == "" {
		return "", errors.New("host name is empty")
	}
	if !isASCII(name) {
		a, err := idnaProfile.ToASCII(name)
		if err != nil {
			return "", fmt.Errorf("host name %q has no IDNA A-label form: %v", s, err)
		}
		name = a
	}
	// Wire length: one length octet per label plus the root octet.
	if len(name)+2 > 255 {
		return "", fmt.Errorf("host name %q is longer than 255 octets", s)
	}
	for label := range strings.SplitSeq(name, ".") {
		if err := checkLabel(label); err != nil {
			return "", fmt.Errorf("host name %q: %v", s, err)
		}
	}
	return name + ".", nil
}

func checkLabel(l string) error {
	if l == "" {
		return errors.New("empty label")
	}
	if len(l) > 63 {
		return fmt.Errorf("label %q is longer than 63 octets", l)
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with a hyphen", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("label %q holds %q, not a letter, digit or hyphen", l, c)
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
