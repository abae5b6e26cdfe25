package test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rptr-dns/rptr/internal/corednstest"
)

// hostileCorefile serves rptr's zones, and nothing else, on {dns}: CoreDNS
// refuses every other name and every class but IN there. The block on
// {chaos} loads the chaos plugin, which makes CoreDNS let other classes
// through to the plugins, and whoami after rptr shows what rptr passed on.
const hostileCorefile = `10.in-addr.arpa.:{dns} 8.b.d.0.1.0.0.2.ip6.arpa.:{dns} dyn.example.com.:{dns} {
    prometheus 127.0.0.1:{metrics}
    rptr 10.0.0.0/8 2001:db8::/32 {
        redis %[1]s
        prefix %[2]s
        synthesize ip-{ip}.dyn.example.com. 10.1.0.0/16 2001:db8:1::/48
    }
}
.:{chaos} {
    chaos
    rptr 10.0.0.0/8 {
        redis %[1]s
        prefix %[2]s
    }
    whoami
}
`

const (
	hostileZone4 = "10.in-addr.arpa."
	hostileZone6 = "8.b.d.0.1.0.0.2.ip6.arpa."
	hostileDyn   = "dyn.example.com."
	// hostileRec4 and hostileRec6 have stored records; hostileSyn4 is
	// synthesized.
	hostileRec4 = "1.0.0.10.in-addr.arpa."
	hostileGW   = "gw.example.com."
	hostileRec6 = "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
	hostileV6   = "v6.example.com."
	hostileSyn4 = "3.2.1.10.in-addr.arpa."
	hostileSynN = "ip-10-1-2-3.dyn.example.com."
)

// How long to wait for a reply that must come, and for one that must not.
const (
	replyWait   = 2 * time.Second
	silenceWait = 500 * time.Millisecond
)

// expectation is what the server must do with one packet.
type expectation struct {
	silent bool                       // no reply at all
	check  func(*testing.T, *dns.Msg) // the reply, when one must come
}

// hostileCase is one odd or malformed packet.
type hostileCase struct {
	name string
	net  string   // "udp" (the default) or "tcp"
	msg  *dns.Msg // a query that packs
	raw  []byte   // or the exact octets, when Pack cannot make them
	want expectation
}

// TestHostileInput sends malformed and odd DNS input to the real server
// and checks that each gets a defined answer, that a normal query is still
// answered after each, and that the server never panics.
func TestHostileInput(t *testing.T) {
	prefix := prefixFor(t)
	s := corednstest.Start(t, coredns, fmt.Sprintf(hostileCorefile, rdb.URL(0), prefix), "metrics", "chaos")
	c := rdb.Client(0)
	defer c.Close()
	ctx := context.Background()
	for _, cmd := range [][]any{
		{"SET", prefix + "ptr:10.0.0.1", hostileGW},
		{"SET", prefix + "ptr:2001:db8::25", hostileV6},
	} {
		if err := c.Do(ctx, cmd...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A connection that never sends anything, opened first and checked
	// last, so that the server's read timeout runs while the rest does.
	idle, err := net.DialTimeout("tcp", s.Addr, replyWait)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idleSince := time.Now()

	for _, tc := range hostileCases() {
		netw := tc.net
		if netw == "" {
			netw = "udp"
		}
		t.Run(netw+"/"+tc.name, func(t *testing.T) {
			packet := tc.raw
			if tc.msg != nil {
				var err error
				if packet, err = tc.msg.Pack(); err != nil {
					t.Fatalf("packing the query: %v", err)
				}
			}
			wait := replyWait
			if tc.want.silent {
				wait = silenceWait
			}
			r, err := exchangeRaw(s.Addr, netw, packet, wait)
			switch {
			case err != nil:
				t.Fatalf("%v", err)
			case r == nil && !tc.want.silent:
				t.Errorf("no reply, want one")
			case r != nil && tc.want.silent:
				t.Errorf("got a reply, want none:\n%v", r)
			case r != nil:
				checkHeader(t, packet, r)
				tc.want.check(t, r)
			}
			stillServes(t, s.Addr, netw)
		})
	}

	t.Run("tcp/length prefix promises more than is sent", func(t *testing.T) {
		// The server waits for the rest, sees the end of the stream and
		// closes the connection without a reply.
		conn := dialTCP(t, s.Addr)
		packet := packQuery(t, hostileRec4, dns.TypePTR)
		frame := append(binary.BigEndian.AppendUint16(nil, uint16(len(packet)+100)), packet...)
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		conn.(*net.TCPConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(replyWait))
		if n, err := conn.Read(make([]byte, 512)); !errors.Is(err, io.EOF) {
			t.Errorf("read %d octets, %v; want the server to close the connection without a reply", n, err)
		}
		stillServes(t, s.Addr, "tcp")
	})

	good := packQuery(t, hostileRec4, dns.TypePTR)
	for _, tc := range []struct {
		name   string
		frames [][]byte // sent back to back on one connection
		want   []int    // the rcodes of the replies, in order, -1 for the PTR of good
	}{
		// A message of no octets has no header to answer: no reply, and
		// the next message on the connection is answered.
		{"zero length prefix, then a query", [][]byte{{}, good}, []int{-1}},
		// A FORMERR does not end the connection.
		{"malformed, then a query", [][]byte{cat(hdr(0x4242, 0x0100, 1, 0, 0, 0), []byte{1, '1', 7, 'i', 'n'}), good}, []int{dns.RcodeFormatError, -1}},
		// Nor does a message too short for a header, which gets no reply.
		{"half a header, then a query", [][]byte{hdr(0x4243, 0x0100, 1, 0, 0, 0)[:5], good}, []int{-1}},
	} {
		t.Run("tcp/"+tc.name, func(t *testing.T) {
			conn := dialTCP(t, s.Addr)
			var stream []byte
			for _, f := range tc.frames {
				stream = append(binary.BigEndian.AppendUint16(stream, uint16(len(f))), f...)
			}
			if _, err := conn.Write(stream); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(replyWait))
			for i, rc := range tc.want {
				r, err := readTCPMsg(conn)
				switch {
				case err != nil:
					t.Fatalf("reply %d: %v", i, err)
				case rc == -1 && (r.Id != binary.BigEndian.Uint16(good) || len(r.Answer) != 1):
					t.Errorf("reply %d: %v; want the PTR of the query", i, r)
				case rc != -1 && r.Rcode != rc:
					t.Errorf("reply %d: %v; want %s", i, r, dns.RcodeToString[rc])
				}
			}
			stillServes(t, s.Addr, "tcp")
		})
	}

	t.Run("tcp/pipelined queries", func(t *testing.T) {
		// RFC 7766 section 6.2.1.1: every query sent on one connection
		// without waiting is answered, each with its own ID, in any order.
		conn := dialTCP(t, s.Addr)
		queries := map[uint16]struct{ qname, target string }{}
		var stream []byte
		for i := range 20 {
			qname, target := hostileRec4, hostileGW
			switch i % 3 {
			case 1:
				qname, target = hostileRec6, hostileV6
			case 2:
				qname, target = hostileSyn4, hostileSynN
			}
			m := query0(qname, dns.TypePTR)
			m.Id = uint16(1000 + i)
			packet, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			queries[m.Id] = struct{ qname, target string }{qname, target}
			stream = append(binary.BigEndian.AppendUint16(stream, uint16(len(packet))), packet...)
		}
		if _, err := conn.Write(stream); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(replyWait))
		for n := range len(queries) {
			r, err := readTCPMsg(conn)
			if err != nil {
				t.Fatalf("after %d replies: %v", n, err)
			}
			q, ok := queries[r.Id]
			if !ok {
				t.Fatalf("reply with ID %d, which was not sent or was answered before", r.Id)
			}
			delete(queries, r.Id)
			if len(r.Answer) != 1 || r.Answer[0].Header().Name != q.qname || r.Answer[0].(*dns.PTR).Ptr != q.target {
				t.Errorf("ID %d: answer %v, want %s PTR %s", r.Id, r.Answer, q.qname, q.target)
			}
		}
		stillServes(t, s.Addr, "tcp")
	})

	t.Run("udp/burst of mutated queries", func(t *testing.T) {
		// Whatever the octets, every reply is a well-formed response to a
		// query that was sent, none is a SERVFAIL from rptr, and the
		// server stays up.
		withDO, err := edns(func(o *dns.OPT) { o.SetDo() }).Pack()
		if err != nil {
			t.Fatal(err)
		}
		seeds := [][]byte{good, withDO, packQuery(t, hostileRec6, dns.TypePTR), packQuery(t, hostileSyn4, dns.TypeANY), packQuery(t, hostileSynN, dns.TypeA)}
		conn, err := net.Dial("udp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Replies are read while queries go out, so that none is lost
		// to a full socket buffer.
		const n = 2000
		type result struct {
			replies int
			rcodes  map[string]int
			errs    []string
		}
		done := make(chan result)
		go func() {
			res := result{rcodes: map[string]int{}}
			buf := make([]byte, 65535)
			for {
				conn.SetReadDeadline(time.Now().Add(silenceWait))
				k, err := conn.Read(buf)
				if err != nil {
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						res.errs = append(res.errs, err.Error())
					}
					done <- res
					return
				}
				r := new(dns.Msg)
				if err := r.Unpack(buf[:k]); err != nil {
					res.errs = append(res.errs, fmt.Sprintf("reply does not unpack: %v (%x)", err, buf[:k]))
					continue
				}
				if !r.Response || r.Id >= n {
					res.errs = append(res.errs, fmt.Sprintf("reply with QR %v and ID %d to queries 0-%d", r.Response, r.Id, n-1))
				}
				// With Redis up, rptr has no reason to fail; only CoreDNS's
				// answer to a query without a question is a SERVFAIL.
				if r.Rcode == dns.RcodeServerFailure && len(r.Question) > 0 {
					res.errs = append(res.errs, fmt.Sprintf("SERVFAIL to a query with a question:\n%v", r))
				}
				res.replies++
				res.rcodes[dns.RcodeToString[r.Rcode]]++
			}
		}()
		rng := rand.New(rand.NewPCG(7, 11))
		for i := range n {
			p := append([]byte(nil), seeds[i%len(seeds)]...)
			binary.BigEndian.PutUint16(p, uint16(i))
			for range 1 + rng.IntN(4) { // change octets after the ID
				p[2+rng.IntN(len(p)-2)] = byte(rng.UintN(256))
			}
			if rng.IntN(4) == 0 {
				p = p[:2+rng.IntN(len(p)-2)]
			}
			if _, err := conn.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		res := <-done
		for _, e := range res.errs {
			t.Error(e)
		}
		replies := res.replies
		t.Logf("%d replies to %d mutated queries, by rcode: %v", replies, n, res.rcodes)
		if replies == 0 {
			t.Error("no replies at all")
		}
		stillServes(t, s.Addr, "udp")
	})

	// Other classes, where CoreDNS lets them reach the plugins: rptr
	// passes them on untouched (README), so whoami answers.
	for _, class := range []uint16{dns.ClassCHAOS, dns.ClassNONE, dns.ClassANY} {
		t.Run("udp/class "+dns.ClassToString[class]+" reaches the next plugin", func(t *testing.T) {
			chaos := fmt.Sprintf("127.0.0.1:%d", s.Ports["chaos"])
			m := classQuery(hostileRec4, dns.TypePTR, class)
			packet, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			r, err := exchangeRaw(chaos, "udp", packet, replyWait)
			if err != nil || r == nil {
				t.Fatalf("no reply: %v", err)
			}
			checkHeader(t, packet, r)
			if !answeredByWhoami(r) {
				t.Errorf("rcode %s, answer %v, extra %v; want whoami's reply (rptr passes class %s on)",
					dns.RcodeToString[r.Rcode], r.Answer, r.Extra, dns.ClassToString[class])
			}
			stillServes(t, s.Addr, "udp")
		})
	}
	t.Run("udp/class IN on the chaos listener is rptr's", func(t *testing.T) {
		// The control for the cases above: class IN is rptr's there too.
		chaos := fmt.Sprintf("127.0.0.1:%d", s.Ports["chaos"])
		stillServes(t, chaos, "udp")
	})

	t.Run("tcp/idle connection is closed by the server", func(t *testing.T) {
		// RFC 7766 section 6.2.3: a server closes a connection that sends
		// nothing (CoreDNS after its 3 s read timeout), without crashing.
		idle.SetReadDeadline(idleSince.Add(8 * time.Second))
		if n, err := idle.Read(make([]byte, 512)); !errors.Is(err, io.EOF) {
			t.Errorf("read %d octets, %v; want the server to close the idle connection", n, err)
		}
	})

	t.Run("server survived", func(t *testing.T) {
		stillServes(t, s.Addr, "udp")
		if err := s.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("the CoreDNS process is gone: %v", err)
		}
		// CoreDNS recovers from a panic in a plugin, answers SERVFAIL and
		// counts it; the counter must be there, and zero.
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", s.Ports["metrics"]))
		if err != nil {
			t.Fatal(err)
		}
		page, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(page), "\ncoredns_panics_total 0\n") {
			t.Errorf("no line \"coredns_panics_total 0\" in the metrics")
		}
		if out := s.Output(); strings.Contains(strings.ToLower(out), "panic") {
			t.Errorf("the server's output mentions a panic:\n%s", out)
		}
	})
}

// hostileCases lists the single-packet cases; each is followed by a normal
// query on the same transport.
func hostileCases() []hostileCase {
	// A name at the 255-octet limit: 119 labels "1" and 10.in-addr.arpa.
	// (17 octets) take 119*2+17 = 255 octets on the wire.
	name255 := strings.Repeat("1.", 119) + hostileZone4
	label63 := strings.Repeat("a", 63)
	// One octet more: 118 labels "1", one "11", then 10.in-addr.arpa.
	var labels256 []string
	for range 118 {
		labels256 = append(labels256, "1")
	}
	labels256 = append(labels256, "11", "10", "in-addr", "arpa")
	q := func(id uint16, labels ...string) []byte { // a PTR question in class IN
		return cat(hdr(id, 0x0100, 1, 0, 0, 0), wireName(labels...), u16(dns.TypePTR), u16(dns.ClassINET))
	}

	return []hostileCase{
		// Packets too short for a header: there is no ID to answer to, so
		// the server says nothing (an answer would only help reflection).
		{name: "empty datagram", raw: []byte{}, want: noReply()},
		{name: "one octet", raw: []byte{0x12}, want: noReply()},
		{name: "header cut after 6 octets", raw: hdr(0x1234, 0x0100, 1, 0, 0, 0)[:6], want: noReply()},

		// A header that promises a question and ends: miekg/dns takes the
		// count for a lie and hands CoreDNS a query without a question,
		// which CoreDNS's server answers SERVFAIL before any plugin runs.
		// RFC 1035 would want FORMERR; rptr cannot change this, so the
		// case pins CoreDNS's answer (a reply with the ID, no crash).
		{name: "header only, QDCOUNT 1", raw: hdr(0x1234, 0x0100, 1, 0, 0, 0), want: rcode(dns.RcodeServerFailure)},
		{name: "header only, QDCOUNT 1", net: "tcp", raw: hdr(0x123a, 0x0100, 1, 0, 0, 0), want: rcode(dns.RcodeServerFailure)},
		// A question cut inside its name or its type: FORMERR, with the
		// query's ID (RFC 1035 section 4.1.1).
		{name: "question cut after a length octet", raw: q(0x1235, "1", "0", "0", "10", "in-addr", "arpa")[:12+5], want: rcode(dns.RcodeFormatError)},
		{name: "question cut inside a label", raw: cat(hdr(0x1236, 0x0100, 1, 0, 0, 0), []byte{1, '1', 7, 'i', 'n'}), want: rcode(dns.RcodeFormatError)},
		{name: "question cut inside qtype", raw: cat(hdr(0x1237, 0x0100, 1, 0, 0, 0), wireName("1", "0", "0", "10", "in-addr", "arpa"), []byte{0}), want: rcode(dns.RcodeFormatError)},
		// miekg/dns reads a question that ends right after its name (or its
		// type) with the missing fields as 0; CoreDNS refuses class 0 (it
		// refuses every class but IN on this listener): a defined answer.
		{name: "question ends before qtype", raw: cat(hdr(0x1238, 0x0100, 1, 0, 0, 0), wireName("1", "0", "0", "10", "in-addr", "arpa")), want: rcode(dns.RcodeRefused)},
		{name: "question ends before qclass", raw: cat(hdr(0x1239, 0x0100, 1, 0, 0, 0), wireName("1", "0", "0", "10", "in-addr", "arpa"), u16(dns.TypePTR)), want: rcode(dns.RcodeRefused)},
		{name: "question cut inside a label", net: "tcp", raw: cat(hdr(0x123a, 0x0100, 1, 0, 0, 0), []byte{1, '1', 7, 'i', 'n'}), want: rcode(dns.RcodeFormatError)},

		// Question counts other than one: FORMERR (RFC 9619: a query has
		// exactly one question).
		{name: "QDCOUNT 0", raw: hdr(0x2001, 0x0100, 0, 0, 0, 0), want: rcode(dns.RcodeFormatError)},
		{name: "QDCOUNT 2 with two PTR questions", raw: cat(hdr(0x2002, 0x0100, 2, 0, 0, 0),
			wireName("1", "0", "0", "10", "in-addr", "arpa"), u16(dns.TypePTR), u16(dns.ClassINET),
			wireName("2", "0", "0", "10", "in-addr", "arpa"), u16(dns.TypePTR), u16(dns.ClassINET)), want: rcode(dns.RcodeFormatError)},
		{name: "QDCOUNT 3 holding one question", raw: cat(hdr(0x2003, 0x0100, 3, 0, 0, 0),
			wireName("1", "0", "0", "10", "in-addr", "arpa"), u16(dns.TypePTR), u16(dns.ClassINET)), want: rcode(dns.RcodeFormatError)},
		{name: "QDCOUNT 2 over TCP", net: "tcp", raw: cat(hdr(0x2004, 0x0100, 2, 0, 0, 0),
			wireName("1", "0", "0", "10", "in-addr", "arpa"), u16(dns.TypePTR), u16(dns.ClassINET),
			wireName("2", "0", "0", "10", "in-addr", "arpa"), u16(dns.TypePTR), u16(dns.ClassINET)), want: rcode(dns.RcodeFormatError)},
		// More records in the other sections than a query can have (one
		// OPT and one TSIG or SIG(0) in additional, one SOA in authority
		// for IXFR): FORMERR.
		{name: "three additional records", msg: with(query0(hostileRec4, dns.TypePTR), func(m *dns.Msg) {
			for i := range 3 {
				m.Extra = append(m.Extra, &dns.A{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.IPv4(10, 0, 0, byte(i))})
			}
		}), want: rcode(dns.RcodeFormatError)},
		{name: "two authority records", msg: with(query0(hostileRec4, dns.TypePTR), func(m *dns.Msg) {
			for i := range 2 {
				m.Ns = append(m.Ns, &dns.A{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.IPv4(10, 0, 0, byte(i))})
			}
		}), want: rcode(dns.RcodeFormatError)},

		// Header flags and opcodes.
		// A response is never answered, so that two servers cannot loop.
		{name: "QR bit set", msg: with(query0(hostileRec4, dns.TypePTR), func(m *dns.Msg) { m.Response = true }), want: noReply()},
		// Opcodes CoreDNS does not implement: NOTIMP with the opcode
		// echoed (RFC 1035 section 4.1.1; RFC 3425 for IQUERY, RFC 2136
		// for UPDATE).
		{name: "opcode IQUERY", msg: withOpcode(dns.OpcodeIQuery), want: notImplemented(dns.OpcodeIQuery)},
		{name: "opcode STATUS", msg: withOpcode(dns.OpcodeStatus), want: notImplemented(dns.OpcodeStatus)},
		{name: "opcode UPDATE", msg: withOpcode(dns.OpcodeUpdate), want: notImplemented(dns.OpcodeUpdate)},
		{name: "opcode 15", msg: withOpcode(15), want: notImplemented(15)},
		// NOTIFY (RFC 1996) is the one other opcode CoreDNS hands to the
		// plugins. rptr is no secondary: a NOTIFY is no query, and a
		// NOERROR reply acknowledges a notification nobody acts on. A
		// server that does not implement NOTIFY answers NOTIMP (RFC 1996);
		// REFUSED (as for a zone one is not secondary for) is as clear.
		{name: "opcode NOTIFY", msg: withOpcode(dns.OpcodeNotify), want: notifyDeclined()},
		{name: "opcode NOTIFY for the SOA", msg: with(query0(hostileZone4, dns.TypeSOA), func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), want: notifyDeclined()},
		// The Z bit must be zero (RFC 1035 section 4.1.1): ignored in a
		// query, zero in the reply. TC in a query means nothing.
		{name: "Z bit set", msg: with(query0(hostileRec4, dns.TypePTR), func(m *dns.Msg) { m.Zero = true }), want: answerPTR(hostileRec4, hostileGW)},
		{name: "TC bit set in a query", msg: with(query0(hostileRec4, dns.TypePTR), func(m *dns.Msg) { m.Truncated = true }), want: answerPTR(hostileRec4, hostileGW)},

		// Long names and compression.
		// A 255-octet name (the limit, RFC 1035 section 3.1) is a name
		// like any other: too many labels to be an address, so NXDOMAIN.
		{name: "name of 255 octets", msg: query0(name255, dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "name of 255 octets", net: "tcp", msg: query0(name255, dns.TypePTR), want: nxdomain(hostileZone4)},
		// 256 octets is over the limit: FORMERR.
		{name: "name of 256 octets", raw: cat(hdr(0x3001, 0x0100, 1, 0, 0, 0), wireName(labels256...),
			u16(dns.TypePTR), u16(dns.ClassINET)), want: rcode(dns.RcodeFormatError)},
		// A 63-octet label is allowed; it is not an octet, so NXDOMAIN.
		{name: "label of 63 octets", msg: query0(label63+".0.0.10.in-addr.arpa.", dns.TypePTR), want: nxdomain(hostileZone4)},
		// A length octet of 64 (0x40) is no label length but a reserved
		// label type (RFC 6891 section 5): FORMERR.
		{name: "label of 64 octets", raw: cat(hdr(0x3002, 0x0100, 1, 0, 0, 0), []byte{64}, []byte(label63+"a"),
			wireName("0", "0", "10", "in-addr", "arpa"), u16(dns.TypePTR), u16(dns.ClassINET)), want: rcode(dns.RcodeFormatError)},
		// A compression pointer to itself, and two pointing at each other.
		{name: "compression pointer to itself", raw: cat(hdr(0x3003, 0x0100, 1, 0, 0, 0), []byte{0xc0, 12}, u16(dns.TypePTR), u16(dns.ClassINET)), want: rcode(dns.RcodeFormatError)},
		{name: "compression pointer loop of two", raw: cat(hdr(0x3004, 0x0100, 1, 0, 0, 0), []byte{1, '1', 0xc0, 16, 0xc0, 12, 0, 1}), want: rcode(dns.RcodeFormatError)},
		// A pointer past the end of the message.
		{name: "compression pointer past the end", raw: cat(hdr(0x3005, 0x0100, 1, 0, 0, 0), []byte{1, '1', 0xc0, 0xff}, u16(dns.TypePTR), u16(dns.ClassINET)), want: rcode(dns.RcodeFormatError)},
		// A pointer forward, to a name after the question. RFC 1035
		// section 4.1.4 speaks of prior occurrences only; miekg/dns follows
		// it anyway, so the question is the name it points at and is
		// answered as such: a defined answer.
		{name: "compression pointer forward", raw: cat(hdr(0x3006, 0x0100, 1, 0, 0, 0), []byte{0xc0, 18}, u16(dns.TypePTR), u16(dns.ClassINET),
			wireName("1", "0", "0", "10", "in-addr", "arpa")), want: answerPTR(hostileRec4, hostileGW)},

		// Classes other than IN: this listener has no plugin that wants
		// them, so CoreDNS refuses them before rptr sees them.
		{name: "class CH", msg: classQuery(hostileRec4, dns.TypePTR, dns.ClassCHAOS), want: rcode(dns.RcodeRefused)},
		{name: "class ANY", msg: classQuery(hostileRec4, dns.TypePTR, dns.ClassANY), want: rcode(dns.RcodeRefused)},
		{name: "class NONE", msg: classQuery(hostileRec4, dns.TypePTR, dns.ClassNONE), want: rcode(dns.RcodeRefused)},

		// Query types.
		// ANY at an address with a record gives the PTR (README; RFC 8482
		// allows a subset).
		{name: "qtype ANY", msg: query0(hostileRec4, dns.TypeANY), want: answerPTR(hostileRec4, hostileGW)},
		// Type 0 and 65535 are no PTR: NODATA at a name that exists
		// (RFC 3597 and RFC 8906: unknown types get a proper answer).
		{name: "qtype 0", msg: query0(hostileRec4, 0), want: nodata(hostileZone4)},
		{name: "qtype 65535", msg: query0(hostileRec4, 65535), want: nodata(hostileZone4)},
		{name: "qtype 65535 at a synthesized address", msg: query0(hostileSyn4, 65535), want: nodata(hostileZone4)},
		// rptr has no zone transfer (README, Bugs): AXFR and IXFR are
		// refused (RFC 1035 section 4.1.1 gives zone transfers as the
		// example of REFUSED), on either transport, and are never answered
		// as if they were ordinary types (a NODATA would look like an
		// empty transfer that lacks its SOA).
		{name: "AXFR", msg: query0(hostileZone4, dns.TypeAXFR), want: rcode(dns.RcodeRefused)},
		{name: "AXFR", net: "tcp", msg: query0(hostileZone4, dns.TypeAXFR), want: rcode(dns.RcodeRefused)},
		{name: "IXFR", msg: ixfr(hostileZone4), want: rcode(dns.RcodeRefused)},
		{name: "IXFR", net: "tcp", msg: ixfr(hostileZone4), want: rcode(dns.RcodeRefused)},
		{name: "AXFR of the ip6.arpa zone", net: "tcp", msg: query0(hostileZone6, dns.TypeAXFR), want: rcode(dns.RcodeRefused)},
		{name: "AXFR of the synthesized names' zone", net: "tcp", msg: query0(hostileDyn, dns.TypeAXFR), want: rcode(dns.RcodeRefused)},

		// EDNS (RFC 6891).
		// Version 1 is unknown: BADVERS with an OPT of version 0
		// (section 6.1.3).
		{name: "EDNS version 1", msg: edns(func(o *dns.OPT) { o.SetVersion(1) }), want: badVersion()},
		// Unknown options are ignored (section 6.1.2).
		{name: "EDNS unknown option", msg: edns(func(o *dns.OPT) {
			o.Option = append(o.Option, &dns.EDNS0_LOCAL{Code: 65001, Data: []byte("hostile")})
		}), want: answerPTREDNS(hostileRec4, hostileGW, false)},
		{name: "EDNS 65535-octet UDP size", msg: edns(func(o *dns.OPT) { o.SetUDPSize(65535) }), want: answerPTREDNS(hostileRec4, hostileGW, false)},
		// A size below 512 counts as 512 (section 6.2.5).
		{name: "EDNS 100-octet UDP size", msg: edns(func(o *dns.OPT) { o.SetUDPSize(100) }), want: answerPTREDNS(hostileRec4, hostileGW, false)},
		{name: "EDNS 0-octet UDP size", msg: edns(func(o *dns.OPT) { o.SetUDPSize(0) }), want: answerPTREDNS(hostileRec4, hostileGW, false)},
		// DO is copied into the reply (RFC 3225 section 3).
		{name: "EDNS DO bit", msg: edns(func(o *dns.OPT) { o.SetDo() }), want: answerPTREDNS(hostileRec4, hostileGW, true)},
		// A server without cookies ignores the option (RFC 7873).
		{name: "EDNS COOKIE", msg: edns(func(o *dns.OPT) {
			o.Option = append(o.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"})
		}), want: answerPTREDNS(hostileRec4, hostileGW, false)},
		// More than one OPT record: FORMERR (section 6.1.1, a MUST).
		{name: "EDNS two OPT records", msg: with(edns(nil), func(m *dns.Msg) {
			o := new(dns.OPT)
			o.Hdr = dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}
			o.SetUDPSize(1232)
			m.Extra = append(m.Extra, o)
		}), want: rcode(dns.RcodeFormatError)},
		// An OPT owned by a name other than the root breaks section
		// 6.1.2 (its NAME MUST be 0), which sets no rule for the
		// responder; CoreDNS takes it as the OPT and replies with a proper
		// one: a defined answer.
		{name: "EDNS OPT with a non-root name", msg: edns(func(o *dns.OPT) { o.Hdr.Name = "example.com." }), want: answerPTREDNS(hostileRec4, hostileGW, false)},

		// Odd names inside the zones.
		// Names match in any case, and the answer carries the name as
		// asked (RFC 4343), for stored and synthesized names alike.
		{name: "upper case", msg: query0("1.0.0.10.IN-ADDR.ARPA.", dns.TypePTR), want: answerPTR("1.0.0.10.IN-ADDR.ARPA.", hostileGW)},
		{name: "mixed case", msg: query0("1.0.0.10.In-AdDr.ArPa.", dns.TypePTR), want: answerPTR("1.0.0.10.In-AdDr.ArPa.", hostileGW)},
		{name: "mixed case", net: "tcp", msg: query0("1.0.0.10.iN-aDdR.aRpA.", dns.TypePTR), want: answerPTR("1.0.0.10.iN-aDdR.aRpA.", hostileGW)},
		{name: "upper case synthesized", msg: query0("3.2.1.10.IN-ADDR.ARPA.", dns.TypePTR), want: answerPTR("3.2.1.10.IN-ADDR.ARPA.", hostileSynN)},
		{name: "upper case forward name", msg: query0("IP-10-1-2-3.Dyn.Example.COM.", dns.TypeA), want: answerA("IP-10-1-2-3.Dyn.Example.COM.", "10.1.2.3")},
		{name: "upper case hex in ip6.arpa", msg: query0(strings.ToUpper(hostileRec6), dns.TypePTR), want: answerPTR(strings.ToUpper(hostileRec6), hostileV6)},
		{name: "upper case NXDOMAIN", msg: query0("9.0.0.10.IN-ADDR.ARPA.", dns.TypePTR), want: nxdomain(hostileZone4)},
		// Labels that are no octet or nibble: NXDOMAIN with the SOA.
		{name: "label 256", msg: query0("256.0.0.10.in-addr.arpa.", dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "leading zero 010", msg: query0("010.0.0.10.in-addr.arpa.", dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "leading zero 01", msg: query0("01.0.0.10.in-addr.arpa.", dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "label 00", msg: query0("1.00.0.10.in-addr.arpa.", dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "extra label above a full address", msg: query0("7."+hostileRec4, dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "extra label above a synthesized address", msg: query0("7."+hostileSyn4, dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "two-character nibble", msg: query0("25."+strings.TrimPrefix(hostileRec6, "5.2."), dns.TypePTR), want: nxdomain(hostileZone6)},
		{name: "nibble g", msg: query0("g."+strings.TrimPrefix(hostileRec6, "5."), dns.TypePTR), want: nxdomain(hostileZone6)},
		{name: "33 nibbles", msg: query0("0."+hostileRec6, dns.TypePTR), want: nxdomain(hostileZone6)},
		// A dot inside a label ("1.0" as one label): the name is below
		// 0.10.in-addr.arpa. and "1.0" is no octet.
		{name: `escaped dot 1\.0.0.10`, msg: query0(`1\.0.0.10.in-addr.arpa.`, dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: `escaped dots 1\.0\.0.10`, msg: query0(`1\.0\.0.10.in-addr.arpa.`, dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: `escaped dot 5\..2 in ip6.arpa`, msg: query0(`5\.`+strings.TrimPrefix(hostileRec6, "5"), dns.TypePTR), want: nxdomain(hostileZone6)},
		// One label "1.0.0.10" directly under in-addr.arpa.: not in any
		// zone of this listener, so CoreDNS refuses it.
		{name: `whole address as one label`, msg: query0(`1\.0\.0\.10.in-addr.arpa.`, dns.TypePTR), want: rcode(dns.RcodeRefused)},
		// Octets that are no digits, even ones that look like them.
		{name: "NUL octet label", msg: query0(`\000.0.0.10.in-addr.arpa.`, dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "octet 1 followed by NUL", msg: query0(`1\000.0.0.10.in-addr.arpa.`, dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "high octets", msg: query0(`\255\128.0.0.10.in-addr.arpa.`, dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "space in a label", msg: query0(`1\032.0.0.10.in-addr.arpa.`, dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "backslash label", msg: query0(`\\.0.0.10.in-addr.arpa.`, dns.TypePTR), want: nxdomain(hostileZone4)},
		{name: "full-width digit", msg: query0("\\239\\188\\145.0.0.10.in-addr.arpa.", dns.TypePTR), want: nxdomain(hostileZone4)},
		// Forward names with a dot or a NUL inside a label are no
		// synthesized name.
		{name: "escaped dot in a forward name", msg: query0(`x\.ip-10-1-2-3.dyn.example.com.`, dns.TypeA), want: nxdomain(hostileDyn)},
		{name: "NUL in a forward name", msg: query0(`ip-10-1-2-3\000.dyn.example.com.`, dns.TypeA), want: nxdomain(hostileDyn)},
		{name: "escaped dot before the forward zone", msg: query0(`ip-10-1-2-3\.dyn.example.com.`, dns.TypeA), want: rcode(dns.RcodeRefused)},
	}
}

// noReply expects silence.
func noReply() expectation { return expectation{silent: true} }

// rcode expects a reply with rc and no records in the answer.
func rcode(rc int) expectation {
	return expectation{check: func(t *testing.T, r *dns.Msg) {
		t.Helper()
		if r.Rcode != rc || len(r.Answer) != 0 {
			t.Errorf("rcode %s, answer %v; want %s and no answer", dns.RcodeToString[r.Rcode], r.Answer, dns.RcodeToString[rc])
		}
	}}
}

// notImplemented expects NOTIMP with the query's opcode.
func notImplemented(opcode int) expectation {
	return expectation{check: func(t *testing.T, r *dns.Msg) {
		t.Helper()
		rcode(dns.RcodeNotImplemented).check(t, r)
		if r.Opcode != opcode {
			t.Errorf("opcode %d in the reply, want %d", r.Opcode, opcode)
		}
	}}
}

// notifyDeclined expects NOTIMP or REFUSED, with the opcode NOTIFY and
// no records: anything but an answer as to a query.
func notifyDeclined() expectation {
	return expectation{check: func(t *testing.T, r *dns.Msg) {
		t.Helper()
		if (r.Rcode != dns.RcodeNotImplemented && r.Rcode != dns.RcodeRefused) || len(r.Answer)+len(r.Ns) != 0 || r.Opcode != dns.OpcodeNotify {
			t.Errorf("opcode %s, rcode %s, answer %v, authority %v; want opcode NOTIFY, NOTIMP or REFUSED, no records",
				dns.OpcodeToString[r.Opcode], dns.RcodeToString[r.Rcode], r.Answer, r.Ns)
		}
	}}
}

// authoritative checks what all of rptr's own answers share.
func authoritative(t *testing.T, r *dns.Msg, rc int) {
	t.Helper()
	if r.Rcode != rc {
		t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[rc])
	}
	if !r.Authoritative {
		t.Error("AA is not set")
	}
	if r.Zero {
		t.Error("Z is set in the reply")
	}
}

// answerPTR expects owner PTR target, owner spelled exactly as asked.
func answerPTR(owner, target string) expectation {
	return expectation{check: func(t *testing.T, r *dns.Msg) {
		t.Helper()
		authoritative(t, r, dns.RcodeSuccess)
		if len(r.Answer) != 1 {
			t.Fatalf("answer %v, want %s PTR %s", r.Answer, owner, target)
		}
		ptr, ok := r.Answer[0].(*dns.PTR)
		if !ok || ptr.Hdr.Name != owner || ptr.Ptr != target || ptr.Hdr.Class != dns.ClassINET {
			t.Errorf("answer %v, want %s IN PTR %s", r.Answer[0], owner, target)
		}
	}}
}

// answerPTREDNS is answerPTR for an EDNS query: the reply has one OPT, of
// version 0, with DO as wanted and no options (CoreDNS supports none of
// those sent).
func answerPTREDNS(owner, target string, do bool) expectation {
	return expectation{check: func(t *testing.T, r *dns.Msg) {
		t.Helper()
		answerPTR(owner, target).check(t, r)
		opt := r.IsEdns0()
		if opt == nil {
			t.Fatal("no OPT in the reply")
		}
		if opt.Version() != 0 || opt.Do() != do || len(opt.Option) != 0 {
			t.Errorf("OPT %v; want version 0, DO %v, no options", opt, do)
		}
	}}
}

// answerA expects owner A addr.
func answerA(owner, addr string) expectation {
	return expectation{check: func(t *testing.T, r *dns.Msg) {
		t.Helper()
		authoritative(t, r, dns.RcodeSuccess)
		if len(r.Answer) != 1 {
			t.Fatalf("answer %v, want %s A %s", r.Answer, owner, addr)
		}
		a, ok := r.Answer[0].(*dns.A)
		if !ok || a.Hdr.Name != owner || a.A.String() != addr {
			t.Errorf("answer %v, want %s A %s", r.Answer[0], owner, addr)
		}
	}}
}

// negative checks an NXDOMAIN or NODATA: no answer, zone's SOA alone in
// the authority section.
func negative(t *testing.T, r *dns.Msg, rc int, zone string) {
	t.Helper()
	authoritative(t, r, rc)
	if len(r.Answer) != 0 {
		t.Errorf("answer %v, want none", r.Answer)
	}
	if len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA || r.Ns[0].Header().Name != zone {
		t.Errorf("authority %v, want the SOA of %s", r.Ns, zone)
	}
}

func nxdomain(zone string) expectation {
	return expectation{check: func(t *testing.T, r *dns.Msg) { t.Helper(); negative(t, r, dns.RcodeNameError, zone) }}
}

func nodata(zone string) expectation {
	return expectation{check: func(t *testing.T, r *dns.Msg) { t.Helper(); negative(t, r, dns.RcodeSuccess, zone) }}
}

// badVersion expects BADVERS in an OPT of version 0 (RFC 6891 section 6.1.3).
func badVersion() expectation {
	return expectation{check: func(t *testing.T, r *dns.Msg) {
		t.Helper()
		rcode(dns.RcodeBadVers).check(t, r)
		if opt := r.IsEdns0(); opt == nil || opt.Version() != 0 {
			t.Errorf("OPT %v, want one of version 0", opt)
		}
	}}
}

// answeredByWhoami reports whether r is whoami's reply: no answer, the
// client's address and port in the additional section.
func answeredByWhoami(r *dns.Msg) bool {
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		return false
	}
	for _, rr := range r.Extra {
		if _, ok := rr.(*dns.SRV); ok {
			return true
		}
	}
	return false
}

// checkHeader checks what every reply shares: QR set, the query's ID, and
// the question echoed exactly (case included) when the query has one that
// miekg/dns can read.
func checkHeader(t *testing.T, packet []byte, r *dns.Msg) {
	t.Helper()
	if !r.Response {
		t.Error("QR is not set in the reply")
	}
	if len(packet) >= 2 && r.Id != binary.BigEndian.Uint16(packet) {
		t.Errorf("reply ID %#04x, query ID %#04x", r.Id, binary.BigEndian.Uint16(packet))
	}
	m := new(dns.Msg)
	if m.Unpack(packet) == nil && len(m.Question) == 1 && len(r.Question) > 0 && r.Question[0] != m.Question[0] {
		t.Errorf("question %v in the reply, want %v as asked", r.Question[0], m.Question[0])
	}
	if len(r.Question) > 1 {
		t.Errorf("%d questions in the reply", len(r.Question))
	}
}

// stillServes fails the test unless a normal PTR query over netw at addr
// gets the stored record.
func stillServes(t *testing.T, addr, netw string) {
	t.Helper()
	m := query0(hostileRec4, dns.TypePTR)
	c := &dns.Client{Net: netw, Timeout: replyWait}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("normal query over %s after the case: %v", netw, err)
	}
	if len(r.Answer) != 1 || r.Answer[0].(*dns.PTR).Ptr != hostileGW {
		t.Fatalf("normal query over %s after the case: %v", netw, r)
	}
}

// exchangeRaw sends packet over netw (with a length prefix over TCP) and
// returns the reply, or nil when none comes within wait or the server
// closes the connection without one.
func exchangeRaw(addr, netw string, packet []byte, wait time.Duration) (*dns.Msg, error) {
	conn, err := net.DialTimeout(netw, addr, wait)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wait))
	if netw == "tcp" {
		packet = append(binary.BigEndian.AppendUint16(nil, uint16(len(packet))), packet...)
	}
	if _, err := conn.Write(packet); err != nil {
		return nil, err
	}
	var buf []byte
	if netw == "tcp" {
		var n [2]byte
		if _, err := io.ReadFull(conn, n[:]); err != nil {
			return nil, quiet(err)
		}
		buf = make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(conn, buf); err != nil {
			return nil, fmt.Errorf("reading the reply: %w", err)
		}
	} else {
		buf = make([]byte, 65535)
		n, err := conn.Read(buf)
		if err != nil {
			return nil, quiet(err)
		}
		buf = buf[:n]
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf); err != nil {
		return nil, fmt.Errorf("reply does not unpack: %w (%x)", err, buf)
	}
	return r, nil
}

// quiet turns the errors that mean "no reply" into nil.
func quiet(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, replyWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readTCPMsg reads one length-prefixed message from conn.
func readTCPMsg(conn net.Conn) (*dns.Msg, error) {
	var n [2]byte
	if _, err := io.ReadFull(conn, n[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, err
	}
	r := new(dns.Msg)
	return r, r.Unpack(buf)
}

// query0 is a query for name and qtype in class IN, without EDNS.
func query0(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

func classQuery(name string, qtype, class uint16) *dns.Msg {
	m := query0(name, qtype)
	m.Question[0].Qclass = class
	return m
}

func withOpcode(opcode int) *dns.Msg {
	return with(query0(hostileRec4, dns.TypePTR), func(m *dns.Msg) { m.Opcode = opcode })
}

// ixfr is an IXFR query for zone with serial 1 in the authority section
// (RFC 1995 section 3).
func ixfr(zone string) *dns.Msg {
	m := new(dns.Msg)
	m.SetIxfr(zone, 1, "ns."+zone, "hostmaster."+zone)
	return m
}

// edns is a PTR query for hostileRec4 with an OPT record, changed by edit.
func edns(edit func(*dns.OPT)) *dns.Msg {
	m := query0(hostileRec4, dns.TypePTR)
	m.SetEdns0(1232, false)
	if edit != nil {
		edit(m.IsEdns0())
	}
	return m
}

func with(m *dns.Msg, edit func(*dns.Msg)) *dns.Msg {
	edit(m)
	return m
}

func packQuery(t *testing.T, name string, qtype uint16) []byte {
	t.Helper()
	p, err := query0(name, qtype).Pack()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// hdr is a 12-octet message header.
func hdr(id, flags, qd, an, ns, ar uint16) []byte {
	var b []byte
	for _, v := range []uint16{id, flags, qd, an, ns, ar} {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

// wireName is labels as an uncompressed name on the wire, root included.
func wireName(labels ...string) []byte {
	var b []byte
	for _, l := range labels {
		b = append(append(b, byte(len(l))), l...)
	}
	return append(b, 0)
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}
