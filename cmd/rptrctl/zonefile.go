package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/ptrstore"
	"github.com/rptr-dns/rptr/reverse"
)

// A zone file is read one entry at a time: a line, or the lines that
// parentheses join. Each entry is parsed by its own dns.ZoneParser, given
// the origin in force; this file keeps the state between entries ($ORIGIN,
// $TTL, the previous owner) itself. One parser for the whole file would
// stop at the first bad line, carry a line's TTL over to the next lines
// (which would keep export's records without TTL from reading back), and
// give $GENERATE records a TTL of 3600 rather than the $TTL in force.

// zoneState is what a zone file's entries leave for the next ones.
type zoneState struct {
	origin    string // absolute; "" when none is known
	badOrigin int    // line of a rejected $ORIGIN, while it is in force
	ttl       uint32 // the $TTL in force, when hasTTL
	hasTTL    bool
	badTTL    int    // line of a rejected $TTL, while it is in force
	owner     string // owner of the previous record, for a blank owner
	badOwner  int    // line of a rejected record whose owner a blank owner would be
}

// readZone reads the PTR records of a zone file into in. origin, when not
// empty, is the origin before any $ORIGIN.
func readZone(r io.Reader, origin string, in *intake) error {
	z := &zoneState{}
	if origin != "" {
		z.origin, _ = absoluteName(origin, "")
	}
	return zoneEntries(r, func(line int, text string, blankOwner bool, bad string) {
		if bad != "" {
			in.reject(line, bad)
			return
		}
		z.entry(line, text, blankOwner, in)
	})
}

// entry handles one entry of the zone file.
func (z *zoneState) entry(line int, text string, blankOwner bool, in *intake) {
	fields := strings.Fields(text)
	if !blankOwner && strings.HasPrefix(fields[0], "$") {
		directive := strings.ToUpper(fields[0])
		switch directive {
		case "$ORIGIN", "$TTL":
			if len(fields) != 2 {
				in.reject(line, directive+" takes one value")
				z.poison(directive, line)
				return
			}
			if err := z.directive(directive, fields[1]); err != nil {
				in.reject(line, err.Error())
				z.poison(directive, line)
			}
			return
		case "$INCLUDE":
			in.reject(line, "$INCLUDE is not followed: import the included file on its own")
			return
		case "$GENERATE":
			if len(fields) < 5 {
				in.reject(line, "$GENERATE takes a range, an owner, a type and data")
				return
			}
			z.records(line, text, explicitTTL(fields[3:]), true, in)
			return
		}
		in.reject(line, fmt.Sprintf("unknown directive %s", fields[0]))
		return
	}
	afterOwner := fields[1:]
	if blankOwner {
		switch {
		case z.owner == "" && z.badOwner > 0:
			in.reject(line, fmt.Sprintf("line starts with a blank (the previous owner), and the line of the previous owner, %d, was rejected", z.badOwner))
			return
		case z.owner == "":
			in.reject(line, "line starts with a blank (the previous owner) but no record came before")
			return
		}
		text, afterOwner = z.owner+text, fields
	} else {
		// Known again only if this line's owner parses.
		z.owner, z.badOwner = "", line
	}
	z.records(line, text, explicitTTL(afterOwner), false, in)
}

// poison notes that a directive was rejected: the records that would have
// used its value are rejected too, rather than use an older one.
func (z *zoneState) poison(directive string, line int) {
	if directive == "$ORIGIN" {
		z.origin, z.badOrigin = "", line
	} else {
		z.hasTTL, z.badTTL = false, line
	}
}

// directive applies a valid $ORIGIN or $TTL.
func (z *zoneState) directive(directive, value string) error {
	if directive == "$ORIGIN" {
		name, err := absoluteName(value, z.origin)
		if err != nil {
			return err
		}
		z.origin, z.badOrigin = name, 0
		return nil
	}
	ttl, err := zoneTTL(value)
	if err != nil {
		return err
	}
	z.ttl, z.hasTTL, z.badTTL = ttl, true, 0
	return nil
}

// records parses an entry that holds records (one, or those of a
// $GENERATE) and adds them, or rejects the line if one of them is bad.
// explicit tells whether the entry gives the records' TTL, generate
// whether it is a $GENERATE.
func (z *zoneState) records(line int, text string, explicit, generate bool, in *intake) {
	zp := dns.NewZoneParser(strings.NewReader(text), z.origin, "")
	// Lines without a TTL get theirs here, not from the parser.
	zp.SetDefaultTTL(0)
	type found struct {
		addr netip.Addr
		rec  ptrstore.Record
	}
	var recs []found
	skipped, n := 0, 0
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		n++
		z.owner = rr.Header().Name
		addr, rec, skip, err := z.record(rr, explicit)
		if err != nil {
			if generate {
				err = fmt.Errorf("record %d of $GENERATE: %v", n, err)
			}
			in.reject(line, err.Error())
			return
		}
		if skip {
			skipped++
			continue
		}
		recs = append(recs, found{addr, rec})
	}
	if err := zp.Err(); err != nil {
		reason := parseReason(err)
		if z.badOrigin > 0 {
			reason += fmt.Sprintf(" (the $ORIGIN on line %d was rejected)", z.badOrigin)
		}
		in.reject(line, reason)
		return
	}
	if n == 0 {
		// The parser takes a line of an owner and a class alone as nothing.
		in.reject(line, "no record: an owner, a type and data were expected")
		return
	}
	in.skipped += skipped
	for _, f := range recs {
		in.add(line, f.addr, f.rec)
	}
}

// record turns a parsed resource record into the record to import. skip
// is set for the zone's own SOA and NS records.
func (z *zoneState) record(rr dns.RR, explicit bool) (addr netip.Addr, rec ptrstore.Record, skip bool, err error) {
	h := rr.Header()
	switch h.Rrtype {
	case dns.TypeSOA, dns.TypeNS:
		return addr, rec, true, nil
	case dns.TypePTR:
	default:
		return addr, rec, false, fmt.Errorf("%s record: only PTR records are imported", dns.Type(h.Rrtype).String())
	}
	if h.Class != dns.ClassINET {
		return addr, rec, false, fmt.Errorf("class %s: only IN records are imported", dns.Class(h.Class).String())
	}
	if addr, err = z.ownerAddr(h.Name); err != nil {
		return addr, rec, false, err
	}
	if rec.Name, err = ptrstore.HostName(rr.(*dns.PTR).Ptr); err != nil {
		return addr, rec, false, err
	}
	switch {
	case explicit:
		// The parser's TTL may exceed what a record may hold.
		if rec.TTL, err = ptrstore.ParseTTL(strconv.FormatUint(uint64(h.Ttl), 10)); err != nil {
			return addr, rec, false, err
		}
		rec.HasTTL = true
	case z.hasTTL:
		rec.TTL, rec.HasTTL = z.ttl, true
	case z.badTTL > 0:
		return addr, rec, false, fmt.Errorf("no TTL, and the $TTL on line %d was rejected", z.badTTL)
	}
	return addr, rec, false, nil
}

// ownerAddr returns the address a PTR record's owner names: a name under
// in-addr.arpa. or ip6.arpa., or one label below a classless $ORIGIN.
func (z *zoneState) ownerAddr(owner string) (netip.Addr, error) {
	p, err := reverse.Parse(owner)
	if errors.Is(err, reverse.ErrBadLabel) && z.origin != "" && dns.IsSubDomain(z.origin, owner) {
		if zone, zerr := reverse.ParseZone(z.origin); zerr == nil && zone.Classless {
			p, err = zone.Parse(owner)
		}
	}
	if err != nil {
		return netip.Addr{}, fmt.Errorf("owner %s: %v", owner, err)
	}
	if p.Bits() != p.Addr().BitLen() {
		return netip.Addr{}, fmt.Errorf("owner %s names the network %s, not one address", owner, p)
	}
	return p.Addr(), nil
}

// explicitTTL tells whether the fields between an entry's owner and its
// type hold a TTL: the parser reads a field there that is neither a class
// nor a type as one.
func explicitTTL(fields []string) bool {
	for i, f := range fields {
		if i == 2 {
			break
		}
		f = strings.ToUpper(f)
		if _, ok := dns.StringToType[f]; ok || strings.HasPrefix(f, "TYPE") {
			return false
		}
		if _, ok := dns.StringToClass[f]; ok || strings.HasPrefix(f, "CLASS") {
			continue
		}
		return true
	}
	return false
}

// zoneTTL reads a TTL by the parser's rules (units as in 1h30m are
// allowed), which it does not export: from a zone of one record.
func zoneTTL(s string) (uint32, error) {
	rr, err := probe("$TTL "+s+"\n. PTR .\n", "")
	if err != nil {
		return 0, err
	}
	ttl := rr.Header().Ttl
	// The same check as on records, for the same message.
	if _, err := ptrstore.ParseTTL(strconv.FormatUint(uint64(ttl), 10)); err != nil {
		return 0, fmt.Errorf("$TTL %s: %v", s, err)
	}
	return ttl, nil
}

// absoluteName returns name made absolute against origin as the parser
// does ("@" is the origin), from a zone of one record.
func absoluteName(name, origin string) (string, error) {
	rr, err := probe("$ORIGIN "+name+"\n@ PTR .\n", origin)
	if err != nil {
		return "", err
	}
	return rr.Header().Name, nil
}

// probe parses a zone of one record.
func probe(zone, origin string) (dns.RR, error) {
	zp := dns.NewZoneParser(strings.NewReader(zone), origin, "")
	zp.SetDefaultTTL(0)
	rr, ok := zp.Next()
	if err := zp.Err(); err != nil {
		return nil, errors.New(parseReason(err))
	}
	if !ok {
		return nil, errors.New("nothing to parse")
	}
	return rr, nil
}

// parseReason is a parse error of one entry without the position inside
// the entry, which is not the file's: the caller names the line.
func parseReason(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, " at line: "); i >= 0 {
		s = s[:i]
	}
	return strings.TrimPrefix(s, "dns: ")
}

// zoneEntries calls fn with each entry of a zone file: a line, or the
// lines that parentheses join, with comments and parentheses replaced by
// blanks, and the number of its first line. blankOwner is set when the
// entry starts with a blank. bad, when not empty, says why the entry cannot
// be read.
func zoneEntries(r io.Reader, fn func(line int, text string, blankOwner bool, bad string)) error {
	br := bufio.NewReader(r)
	var (
		b          strings.Builder
		start      int // first line of the entry
		depth      int // parentheses open
		quoted     bool
		unbalanced bool
		blank      bool
	)
	for line := 1; ; line++ {
		text, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if text == "" {
			if depth > 0 {
				fn(start, b.String(), blank, "( without a closing ): the lines after it were read as part of this one")
			}
			return nil
		}
		if depth == 0 {
			b.Reset()
			start, quoted, unbalanced = line, false, false
			blank = text[0] == ' ' || text[0] == '\t'
		}
		escaped := false
	scan:
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				quoted = !quoted
			case quoted:
			case c == ';':
				break scan // the rest of the line is a comment
			case c == '(':
				depth++
				c = ' '
			case c == ')':
				if depth == 0 {
					unbalanced = true
				} else {
					depth--
				}
				c = ' '
			case c == '\n' || c == '\r':
				c = ' '
			}
			b.WriteByte(c)
		}
		b.WriteByte(' ')
		if depth > 0 {
			if err == nil {
				continue
			}
			fn(start, b.String(), blank, "( without a closing ): the lines after it were read as part of this one")
			return nil
		}
		if entry := b.String(); strings.TrimSpace(entry) != "" {
			bad := ""
			if unbalanced {
				bad = ") without an opening ("
			}
			fn(start, entry, blank, bad)
		}
		if err != nil {
			return nil
		}
	}
}

// zoneLine is a record as a zone file line: the absolute owner name, the
// TTL when the record has one, the class and the target.
func zoneLine(addr netip.Addr, rec ptrstore.Record) string {
	if rec.HasTTL {
		return fmt.Sprintf("%s\t%d\tIN\tPTR\t%s", reverse.AddrName(addr), rec.TTL, rec.Name)
	}
	return fmt.Sprintf("%s\tIN\tPTR\t%s", reverse.AddrName(addr), rec.Name)
}
