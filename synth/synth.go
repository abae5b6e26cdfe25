// Package synth turns IP addresses into generic host names, such as
// ip-192-0-2-10.dyn.example.com., and such names back into addresses, so that
// an address without a stored PTR record still has a name whose A or AAAA
// record leads back to it (forward-confirmed reverse DNS).
//
// Renderings follow Knot DNS (mod-synthrecord) and PowerDNS (createReverse,
// createForward), so that names do not change when a zone moves between
// servers. Parsing accepts only the one canonical rendering of an address, so
// that an address has exactly one name and a name at most one address. It
// works on the bytes of the name without allocating, because it runs on every
// forward query the plugin sees.
//
// Letter case is folded for ASCII only, as DNS does (RFC 4343): a name that
// matches only under Unicode case folding is not a synthesized name.
package synth

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Style is how {ip} renders an IPv6 address. IPv4 addresses render the same in
// every style.
type Style int

const (
	// RFC5952 renders an IPv6 address as PowerDNS's %33% does: the RFC 5952
	// text with ':' turned into '-', then made a valid label by putting a '0'
	// before a leading '-', a '0' after a trailing '-', and a '0' in front
	// when characters 3 and 4 are "--" (reserved for IDNA, RFC 5891 4.2.3.1).
	// 2001:db8::1 is 2001-db8--1, :: is 0--0, aa:: is 0aa--0.
	//
	// An IPv4-mapped address (::ffff:0:0/96) renders like any other IPv6
	// address, as eight hex groups and never in dotted form, because a dot
	// cannot be part of a label: ::ffff:192.0.2.10 is 0--ffff-c000-20a. The
	// same holds for ::/96, which some inet_ntop implementations print dotted.
	RFC5952 Style = iota
	// Knot renders an IPv6 address as Knot DNS mod-synthrecord does with
	// reverse-short: the eight groups without leading zeros, joined by '-',
	// with the first run of two or more zero groups among groups 2 to 6
	// (counting from 0) replaced by "--". Groups 0, 1 and 7 are always
	// written, so a run is looked for only inside groups 2 to 6: in
	// 1:0:0:2:0:0:0:0 the zero group 1 is outside, group 2 alone is too short,
	// and groups 4 to 6 are the run, giving 1-0-0-2--0. :: is 0-0--0.
	Knot
)

// ParseStyle returns the Style named s, "rfc5952" or "knot" in any letter
// case.
func ParseStyle(s string) (Style, error) {
	switch {
	case equalFold(s, "rfc5952"):
		return RFC5952, nil
	case equalFold(s, "knot"):
		return Knot, nil
	}
	return 0, fmt.Errorf("unknown style %q: want rfc5952 or knot", s)
}

// String returns the name ParseStyle reads: "rfc5952" or "knot".
func (s Style) String() string {
	switch s {
	case RFC5952:
		return "rfc5952"
	case Knot:
		return "knot"
	}
	return "Style(" + strconv.Itoa(int(s)) + ")"
}

// Longest renderings, which bound the length of a synthesized label.
const (
	maxIPLen  = 39 // eight four-digit groups and seven dashes
	maxHexLen = 32 // one hex digit per nibble of an IPv6 address
)

const hexDigits = "0123456789abcdef"

// AppendIP appends the {ip} rendering of addr in style s to dst: the dotted
// decimal address with '-' for '.' for IPv4, and the Style's rendering for
// IPv6 (a Style other than Knot renders as RFC5952). A zone on addr is
// ignored; an invalid addr appends nothing.
func AppendIP(dst []byte, addr netip.Addr, s Style) []byte {
	if addr.Is4() {
		a := addr.As4()
		for i, b := range a {
			if i > 0 {
				dst = append(dst, '-')
			}
			dst = strconv.AppendUint(dst, uint64(b), 10)
		}
		return dst
	}
	if !addr.Is6() {
		return dst
	}
	g := groupsOf(addr.As16())
	if s == Knot {
		return appendKnot(dst, &g)
	}
	return appendRFC5952(dst, &g)
}

func groupsOf(a [16]byte) [8]uint16 {
	var g [8]uint16
	for i := range g {
		g[i] = uint16(a[2*i])<<8 | uint16(a[2*i+1])
	}
	return g
}

// appendRFC5952 writes the RFC 5952 text of g with '-' for ':', plus the '0's
// PowerDNS adds to make it a valid label (see RFC5952).
func appendRFC5952(dst []byte, g *[8]uint16) []byte {
	start, end := longestZeroRun(g)
	if start < 0 {
		return appendGroups(dst, g[:])
	}
	// The text would begin with "--", or with two digits and "--". Either way
	// the added '0' reads back as part of a zero group or as a leading zero.
	if start == 0 || (start == 1 && g[0] >= 0x10 && g[0] <= 0xff) {
		dst = append(dst, '0')
	}
	dst = appendGroups(dst, g[:start])
	dst = append(dst, '-', '-')
	dst = appendGroups(dst, g[end:])
	if end == len(g) {
		dst = append(dst, '0') // the text would end in "--"
	}
	return dst
}

// longestZeroRun returns the run RFC 5952 replaces by "::", as the range
// [start, end) of group indices: the longest run of two or more zero groups,
// the first one on a tie (RFC 5952 4.2.2, 4.2.3). It returns -1, -1 when
// there is no such run.
func longestZeroRun(g *[8]uint16) (start, end int) {
	start, end = -1, -1
	for i := 0; i < len(g); {
		if g[i] != 0 {
			i++
			continue
		}
		j := i + 1
		for j < len(g) && g[j] == 0 {
			j++
		}
		if j-i >= 2 && j-i > end-start {
			start, end = i, j
		}
		i = j
	}
	return start, end
}

// appendKnot writes g as Knot's reverse-short does (see Knot).
func appendKnot(dst []byte, g *[8]uint16) []byte {
	const first, last = 2, 6 // the groups a run may lie in
	start := -1
	for i := first; i < last; i++ {
		if g[i] == 0 && g[i+1] == 0 {
			start = i
			break
		}
	}
	if start < 0 {
		return appendGroups(dst, g[:])
	}
	end := start + 2
	for end <= last && g[end] == 0 {
		end++
	}
	dst = appendGroups(dst, g[:start])
	dst = append(dst, '-', '-')
	return appendGroups(dst, g[end:])
}

// appendGroups writes the groups in hex without leading zeros, joined by '-'.
func appendGroups(dst []byte, groups []uint16) []byte {
	for i, v := range groups {
		if i > 0 {
			dst = append(dst, '-')
		}
		dst = strconv.AppendUint(dst, uint64(v), 16)
	}
	return dst
}

// ParseIP reads an {ip} rendering in any letter case and returns its address.
// It reports false unless text is, up to case, exactly AppendIP of that
// address in style s: "192-0-2-010", "0--0" in Knot style and "0-0--0" in
// RFC5952 style are all refused. An IPv6 rendering gives an IPv6 address,
// also when it is IPv4-mapped.
func ParseIP(text string, s Style) (netip.Addr, bool) {
	if len(text) > maxIPLen {
		return netip.Addr{}, false
	}
	addr, ok := parse4(text)
	if !ok {
		if addr, ok = parse6(text); !ok {
			return netip.Addr{}, false
		}
	}
	// Parsing is lenient about leading zeros and where "--" stands; comparing
	// with the canonical rendering rules out every other spelling.
	var buf [64]byte
	if !equalFoldBytes(AppendIP(buf[:0], addr, s), text) {
		return netip.Addr{}, false
	}
	return addr, true
}

// parse4 reads four decimal numbers 0-255 joined by '-'.
func parse4(s string) (netip.Addr, bool) {
	var a [4]byte
	n, v, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '-' {
			if digits == 0 || n == len(a) {
				return netip.Addr{}, false
			}
			a[n] = byte(v)
			n, v, digits = n+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits == 3 {
			return netip.Addr{}, false
		}
		v = v*10 + int(c-'0')
		digits++
		if v > 255 {
			return netip.Addr{}, false
		}
	}
	if n != len(a) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(a), true
}

// parse6 reads groups of one to four hex digits joined by '-', with at most
// one "--" standing for one or more zero groups. The text must begin and end
// with a group, as every rendering does.
func parse6(s string) (netip.Addr, bool) {
	var g [8]uint16
	n, gap := 0, -1 // groups read; index in g where "--" stands
	for i := 0; ; {
		v, j := 0, i
		for j < len(s) && j-i < 4 {
			d, ok := hexValue(s[j])
			if !ok {
				break
			}
			v = v<<4 | int(d)
			j++
		}
		if j == i || n == len(g) {
			return netip.Addr{}, false
		}
		g[n] = uint16(v)
		n++
		if j == len(s) {
			break
		}
		if s[j] != '-' {
			return netip.Addr{}, false
		}
		i = j + 1
		if i < len(s) && s[i] == '-' {
			if gap >= 0 {
				return netip.Addr{}, false
			}
			gap = n
			i++
		}
	}
	switch {
	case gap < 0 && n != len(g), gap >= 0 && n == len(g):
		return netip.Addr{}, false
	case gap >= 0:
		tail := n - gap
		copy(g[len(g)-tail:], g[gap:n])
		for k := gap; k < len(g)-tail; k++ {
			g[k] = 0
		}
	}
	var a [16]byte
	for i, v := range g {
		a[2*i], a[2*i+1] = byte(v>>8), byte(v)
	}
	return netip.AddrFrom16(a), true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// AppendHex appends the {hex} rendering of addr to dst: the address bytes in
// lower-case hex, 8 digits for IPv4 (127.0.2.5 is 7f000205, as PowerDNS's %6%
// writes it) and 32 for IPv6. A zone on addr is ignored; an invalid addr
// appends nothing.
func AppendHex(dst []byte, addr netip.Addr) []byte {
	switch {
	case addr.Is4():
		a := addr.As4()
		return appendHexBytes(dst, a[:])
	case addr.Is6():
		a := addr.As16()
		return appendHexBytes(dst, a[:])
	}
	return dst
}

func appendHexBytes(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

// ParseHex reads a {hex} rendering in any letter case: 8 hex digits are an
// IPv4 address, 32 an IPv6 address.
func ParseHex(text string) (netip.Addr, bool) {
	var a [16]byte
	if len(text) != 8 && len(text) != 2*len(a) {
		return netip.Addr{}, false
	}
	for i := 0; i < len(text); i += 2 {
		hi, ok1 := hexValue(text[i])
		lo, ok2 := hexValue(text[i+1])
		if !ok1 || !ok2 {
			return netip.Addr{}, false
		}
		a[i/2] = hi<<4 | lo
	}
	if len(text) == 8 {
		return netip.AddrFrom4([4]byte(a[:4])), true
	}
	return netip.AddrFrom16(a), true
}

// Placeholders a template may hold.
const (
	placeholderIP  = "{ip}"
	placeholderHex = "{hex}"
)

// Limits from RFC 1035 2.3.4.
const (
	maxLabelLen = 63
	maxNameLen  = 255 // in wire form: the presentation text plus one octet
)

// Template is a parsed name template, such as "ip-{ip}.dyn.example.com.".
// The zero Template renders and matches nothing; use ParseTemplate.
type Template struct {
	text   string // the whole template, lower-cased
	prefix string // first-label text before the placeholder
	suffix string // first-label text after the placeholder
	zone   string // the labels right of the first, with the trailing dot
	hex    bool   // the placeholder is {hex}, not {ip}
	style  Style
}

// ParseTemplate parses an absolute name template holding exactly one
// placeholder, {ip} or {hex}, inside the first label, which may hold letters,
// digits and hyphens around it ("ip-{ip}", "{hex}-host") but may not begin or
// end with a hyphen. The labels right of the first are the zone, which must be
// a host name: labels of letters, digits and hyphens that neither begin nor
// end with a hyphen. The template is lower-cased. It is refused when a name
// rendered from it could break the DNS limits: 63 octets for the first label
// with the longest rendering (39 characters for {ip}, 32 for {hex}), and 255
// octets in wire form for the whole name.
func ParseTemplate(s string, style Style) (Template, error) {
	if style != RFC5952 && style != Knot {
		return Template{}, fmt.Errorf("template %q: unknown style %d", s, int(style))
	}
	text := lowerASCII(s)
	if !strings.HasSuffix(text, ".") {
		return Template{}, fmt.Errorf("template %q is not absolute: it must end in '.'", s)
	}
	pos, placeholder, err := findPlaceholder(text)
	if err != nil {
		return Template{}, fmt.Errorf("template %q: %w", s, err)
	}
	dot := strings.IndexByte(text, '.')
	if pos > dot {
		return Template{}, fmt.Errorf("template %q: placeholder %s must be in the first label", s, placeholder)
	}
	t := Template{
		text:   text,
		prefix: text[:pos],
		suffix: text[pos+len(placeholder) : dot],
		zone:   text[dot+1:],
		hex:    placeholder == placeholderHex,
		style:  style,
	}
	if !isLDH(t.prefix) || !isLDH(t.suffix) {
		return Template{}, fmt.Errorf("template %q: text around %s may hold only letters, digits and hyphens", s, placeholder)
	}
	if strings.HasPrefix(t.prefix, "-") || strings.HasSuffix(t.suffix, "-") {
		return Template{}, fmt.Errorf("template %q: the first label may not begin or end with a hyphen", s)
	}
	longest := maxIPLen
	if t.hex {
		longest = maxHexLen
	}
	if n := len(t.prefix) + longest + len(t.suffix); n > maxLabelLen {
		return Template{}, fmt.Errorf("template %q: the first label could be %d octets long, over the limit of %d", s, n, maxLabelLen)
	}
	if t.zone == "" {
		return Template{}, fmt.Errorf("template %q has no zone: it needs labels after the first", s)
	}
	if err := checkHostName(t.zone); err != nil {
		return Template{}, fmt.Errorf("template %q: zone %q is not a valid domain name: %w", s, t.zone, err)
	}
	if n := len(t.prefix) + longest + len(t.suffix) + 1 + len(t.zone) + 1; n > maxNameLen {
		return Template{}, fmt.Errorf("template %q: a name could be %d octets long, over the limit of %d", s, n, maxNameLen)
	}
	return t, nil
}

// findPlaceholder returns the position and text of the one placeholder in s.
func findPlaceholder(s string) (int, string, error) {
	pos, found := -1, ""
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return 0, "", errors.New("'{' without a closing '}'")
		}
		p := s[i : i+end+1]
		if p != placeholderIP && p != placeholderHex {
			return 0, "", fmt.Errorf("unknown placeholder %s: want {ip} or {hex}", p)
		}
		if pos >= 0 {
			return 0, "", fmt.Errorf("two placeholders, %s and %s: want exactly one", found, p)
		}
		pos, found = i, p
		i += end
	}
	if pos < 0 {
		return 0, "", errors.New("no placeholder: want {ip} or {hex} in the first label")
	}
	return pos, found, nil
}

// isLDH reports whether s holds only lower-case letters, digits and hyphens.
func isLDH(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// checkHostName checks an absolute, lower-cased name against the host name
// rules of RFC 1123 2.1 and the label length limit.
func checkHostName(name string) error {
	for rest := name; rest != ""; {
		dot := strings.IndexByte(rest, '.')
		label := rest[:dot]
		switch {
		case label == "":
			return errors.New("empty label")
		case len(label) > maxLabelLen:
			return fmt.Errorf("label %q is over %d octets", label, maxLabelLen)
		case !isLDH(label):
			return fmt.Errorf("label %q may hold only letters, digits and hyphens", label)
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Errorf("label %q begins or ends with a hyphen", label)
		}
		rest = rest[dot+1:]
	}
	return nil
}

// String returns the template as given to ParseTemplate, lower-cased.
func (t Template) String() string { return t.text }

// Zone returns the labels right of the first, such as "dyn.example.com.".
func (t Template) Zone() string { return t.zone }

// Style returns the style {ip} renders IPv6 addresses in.
func (t Template) Style() Style { return t.style }

// AppendName appends the synthesized absolute name of addr to dst. It
// appends nothing for an invalid addr or the zero Template.
func (t Template) AppendName(dst []byte, addr netip.Addr) []byte {
	if t.zone == "" || !addr.IsValid() {
		return dst
	}
	dst = append(dst, t.prefix...)
	if t.hex {
		dst = AppendHex(dst, addr)
	} else {
		dst = AppendIP(dst, addr, t.style)
	}
	dst = append(dst, t.suffix...)
	dst = append(dst, '.')
	return append(dst, t.zone...)
}

// Name returns the synthesized absolute name of addr, or "" for an invalid
// addr or the zero Template.
func (t Template) Name(addr netip.Addr) string {
	var buf [maxNameLen]byte
	return string(t.AppendName(buf[:0], addr))
}

// ParseName returns the address whose synthesized name is name, an absolute
// name in any letter case. It reports false unless name is, up to case,
// exactly t.Name of that address; names below a synthesized name do not
// match.
func (t Template) ParseName(name string) (netip.Addr, bool) {
	dot := strings.IndexByte(name, '.')
	if t.zone == "" || dot < 0 || !equalFold(name[dot+1:], t.zone) {
		return netip.Addr{}, false
	}
	label := name[:dot]
	if len(label) < len(t.prefix)+len(t.suffix) ||
		!equalFold(label[:len(t.prefix)], t.prefix) ||
		!equalFold(label[len(label)-len(t.suffix):], t.suffix) {
		return netip.Addr{}, false
	}
	text := label[len(t.prefix) : len(label)-len(t.suffix)]
	if t.hex {
		return ParseHex(text)
	}
	return ParseIP(text, t.style)
}

// lowerASCII lower-cases the ASCII letters of s and leaves other bytes alone,
// so that no non-ASCII character folds into a valid one.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lower(b[j])
			}
			return string(b)
		}
	}
	return s
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether a and b are equal up to ASCII letter case.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// equalFoldBytes is equalFold for a byte slice, without converting it.
func equalFoldBytes(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
