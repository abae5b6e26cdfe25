package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/rptr-dns/rptr/ptrstore"
)

func init() {
	commands = append(commands, importCommand)
}

// Input formats of import, and of export where they apply.
const (
	formatZone  = "zone"
	formatCSV   = "csv"
	formatHosts = "hosts"
)

// csvHeader is the header line of the CSV format; import skips it (or any
// leading part of it, such as "ip,name") on the first line.
var csvHeader = []string{"ip", "name", "ttl", "disabled"}

func importCommand(a *app) *cobra.Command {
	var (
		format string
		origin string
		dryRun bool
		batch  int
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import records from a zone file, a CSV or a hosts file",
		Long: `import reads the PTR records of FILE ("-" for standard input) and writes
those that differ from what Redis holds. Running the same import again
writes nothing.

Formats:

  zone   a reverse zone file in BIND/Knot syntax: $ORIGIN, $TTL, relative and
         absolute names, @, comments, parentheses, a blank owner repeating
         the previous one, and $GENERATE. Only PTR records are imported: the
         owner must be one address under in-addr.arpa. or ip6.arpa. (or one
         name below an RFC 2317 classless $ORIGIN such as
         0/25.2.0.192.in-addr.arpa.), the target a valid host name. SOA and
         NS records are skipped (they describe the zone, not an address);
         other types are rejected. $INCLUDE is rejected: import each file
         on its own. The record gets the TTL written on its line or, when
         the line has none, the $TTL in force; with neither it gets no TTL
         and is served with the plugin's default. (A line's TTL does not
         carry over to the next line as in RFC 1035: that is what lets
         export write records without TTL.) --origin gives the origin that
         names are relative to before any $ORIGIN.
  csv    ip,name[,ttl[,disabled]], one record a line, as export writes it;
         the header line "ip,name,ttl,disabled" (or "ip,name" ...) is
         skipped when it is the first line, and lines starting with # are
         comments. An empty ttl means none; disabled is 1, true, yes, on or
         0, false, no, off (empty: enabled).
  hosts  a hosts file: IP NAME [ALIASES...] [# comment]. NAME becomes the
         PTR target; aliases are not imported.

Without --format, the format is told from FILE's name: *.zone, *.db and
*.arpa are zone files, *.csv is CSV, "hosts" and *.hosts are hosts files.
Otherwise (and for "-") from the first line that is neither blank nor a
comment (; or #): a $ directive, an .arpa name or a PTR, SOA or NS field
make it a zone file; an address or "ip" followed by a comma, CSV; an
address followed by a blank and a name, a hosts file.

Addresses may be written in any form (2001:0DB8::1); the keys use the
canonical text. Names are validated as by set, Unicode names become their
IDNA A-labels.

The whole input is read and checked before anything is written. A line
that cannot be imported is rejected: reported with its line number and
reason (on stderr, or as {"line":N,"reason":...} objects with --json) and
never written; the other lines are still imported. Two lines giving one
address different records are a conflict: both are rejected. A line that
repeats an identical record is counted as a duplicate and written once.
A $GENERATE line is one line: if one of its records is bad, none is
written.

Records are read from Redis in batches and only those that differ in
name, TTL or disabled flag are written (each batch in one transaction;
in a cluster, each key); an unchanged record keeps its key's expiry, a new or changed
one is written without expiry, as set does. The summary, on stderr,
counts records read, written (new and changed), unchanged, duplicates,
SOA/NS records skipped, and lines rejected (and the records on them, not
written). With --json, stdout holds one object per rejected line,
{"kind":"rejected","line":N,"reason":...}, then the summary,
{"kind":"summary","read":N,"written":N,"new":N,"changed":N,...}.
--dry-run reads Redis and reports the same counts without writing. The
input is held in memory while it is imported: a few hundred bytes a
record.

Exit codes: 0 all imported; 1 lines were rejected (the others were
written); 2 bad arguments; 3 FILE unreadable or Redis failed (the summary
says how many records were written before it did).`,
		Example: `  rptrctl import 2.0.192.in-addr.arpa.zone
  rptrctl import --dry-run records.csv
  rptrctl import --format hosts /etc/hosts
  rptrctl export --prefix old: | rptrctl import --format csv -
  rptrctl import --json --origin 8.b.d.0.1.0.0.2.ip6.arpa. reverse.db

  # records.csv
  ip,name,ttl,disabled
  192.0.2.10,mail.example.com,300,
  2001:db8::25,mx.example.com,,1

  # a zone file
  $ORIGIN 2.0.192.in-addr.arpa.
  $TTL 3600
  @        IN SOA ns.example.com. hostmaster.example.com. ( 1 3600 900 604800 300 )
  @        IN NS  ns.example.com.
  10       IN PTR mail.example.com.
  $GENERATE 100-199 $ PTR host-$.example.com.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "" && format != formatZone && format != formatCSV && format != formatHosts {
				return usageErrorf("--format %q: want zone, csv or hosts", format)
			}
			if batch < 1 {
				return usageErrorf("--batch %d: want at least 1", batch)
			}
			if origin != "" {
				origin = dns.Fqdn(origin)
				if _, err := absoluteName(origin, ""); err != nil {
					return usageErrorf("--origin: %v", err)
				}
			}
			im := &importer{app: a, file: args[0], format: format, origin: origin, dryRun: dryRun, batch: batch}
			return im.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "", "input format: zone, csv or hosts (default: told from the name or content)")
	f.StringVar(&origin, "origin", "", "zone files: the origin before any $ORIGIN, e.g. 2.0.192.in-addr.arpa.")
	f.BoolVar(&dryRun, "dry-run", false, "read and compare, report what would be written, write nothing")
	f.IntVar(&batch, "batch", 1000, "records read and written per pipelined round trip")
	return cmd
}

// pending is a record read from the input.
type pending struct {
	line int
	addr netip.Addr
	rec  ptrstore.Record
}

// intake collects what a format reader finds: records and rejected lines.
// It holds the whole input, so that conflicts anywhere in it are found
// before anything is written.
type intake struct {
	recs      []pending
	first     map[netip.Addr]int // index in recs of each address's first record
	conflicts map[netip.Addr]bool
	rejected  map[int]string // line -> reason; the first reason of a line wins
	skipped   int            // SOA and NS records
}

func newIntake() *intake {
	return &intake{first: map[netip.Addr]int{}, conflicts: map[netip.Addr]bool{}, rejected: map[int]string{}}
}

// add takes a valid record of line.
func (in *intake) add(line int, addr netip.Addr, rec ptrstore.Record) {
	if i, ok := in.first[addr]; ok {
		if !in.recs[i].rec.SameAs(rec) {
			in.conflicts[addr] = true
		}
	} else {
		in.first[addr] = len(in.recs)
	}
	in.recs = append(in.recs, pending{line: line, addr: addr, rec: rec})
}

// reject rejects line for reason.
func (in *intake) reject(line int, reason string) {
	if _, ok := in.rejected[line]; !ok {
		in.rejected[line] = reason
	}
}

// resolve rejects every line of a conflict and returns the records to
// write, one per address, in input order; dups counts the records that
// repeat one of those, and lost the records left on rejected lines.
func (in *intake) resolve() (write []pending, dups, lost int) {
	if len(in.conflicts) > 0 {
		lines := map[netip.Addr][]int{}
		for _, p := range in.recs {
			if in.conflicts[p.addr] {
				lines[p.addr] = append(lines[p.addr], p.line)
			}
		}
		for addr, l := range lines {
			slices.Sort(l)
			l = slices.Compact(l)
			text := make([]string, len(l))
			for i, n := range l {
				text[i] = strconv.Itoa(n)
			}
			for _, n := range l {
				in.reject(n, fmt.Sprintf("conflict: %s is given different records on lines %s", addr, strings.Join(text, ", ")))
			}
		}
	}
	for i, p := range in.recs {
		if _, bad := in.rejected[p.line]; bad {
			lost++
			continue
		}
		// The first record of an address stands for it, unless its line
		// was rejected: then the first accepted copy does.
		if j := in.first[p.addr]; j != i {
			if _, bad := in.rejected[in.recs[j].line]; !bad {
				dups++
				continue
			}
			in.first[p.addr] = i
		}
		write = append(write, p)
	}
	return write, dups, lost
}

// rejection is a rejected line as --json writes it.
type rejection struct {
	Kind   string `json:"kind"` // "rejected"
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// importSummary is what import did, as --json writes it.
type importSummary struct {
	Kind       string `json:"kind"` // "summary"
	File       string `json:"file"`
	Format     string `json:"format"`
	Read       int    `json:"read"`      // records read from the input
	Written    int    `json:"written"`   // new + changed (to be written, with dry_run)
	New        int    `json:"new"`       // addresses without a record before
	Changed    int    `json:"changed"`   // records that differed
	Unchanged  int    `json:"unchanged"` // records equal to the input, left alone
	Duplicate  int    `json:"duplicate"` // repeats of an identical record
	NotWritten int    `json:"not_written"`
	Skipped    int    `json:"skipped"`  // SOA and NS records of a zone file
	Rejected   int    `json:"rejected"` // lines
	DryRun     bool   `json:"dry_run"`
	Error      string `json:"error,omitempty"` // why the import stopped
}

// importer is one run of import.
type importer struct {
	app    *app
	file   string
	format string
	origin string
	dryRun bool
	batch  int
}

func (im *importer) run(ctx context.Context) error {
	a := im.app
	in, sum, err := im.read()
	if err != nil {
		return err
	}
	write, dups, lost := in.resolve()
	sum.Read, sum.Duplicate, sum.NotWritten, sum.Skipped, sum.Rejected = len(in.recs), dups, lost, in.skipped, len(in.rejected)
	im.reportRejected(in.rejected)

	s, err := a.store(ctx)
	if err != nil {
		return err
	}
	err = im.write(ctx, s, write, &sum)
	if err != nil {
		sum.Error = err.Error()
	}
	im.printSummary(sum)
	if err != nil {
		if im.dryRun {
			return &exitError{code: exitFailure, err: fmt.Errorf("dry run stopped: Redis: %w", err)}
		}
		return &exitError{code: exitFailure, err: fmt.Errorf("import stopped after %d records were written: Redis: %w", sum.Written, err)}
	}
	what := "lines rejected; the other records were written"
	if im.dryRun {
		what = "lines rejected"
	}
	return problems(sum.Rejected, what)
}

// read opens the input, tells its format and reads it whole.
func (im *importer) read() (*intake, importSummary, error) {
	a := im.app
	var r io.Reader = a.stdin
	name := "stdin"
	if im.file != "-" {
		f, err := os.Open(im.file)
		if err != nil {
			return nil, importSummary{}, &exitError{code: exitFailure, err: err}
		}
		defer f.Close()
		r, name = f, im.file
	}
	br := bufio.NewReaderSize(r, 64<<10)
	// Spreadsheets write a byte order mark before CSV.
	if bom, _ := br.Peek(3); string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	format := im.format
	if format == "" {
		// Peek's error only says the input is shorter than asked.
		head, _ := br.Peek(br.Size())
		var err error
		if format, err = detectFormat(im.file, head); err != nil {
			return nil, importSummary{}, err
		}
	}
	in := newIntake()
	var err error
	switch format {
	case formatZone:
		err = readZone(br, im.origin, in)
	case formatCSV:
		err = readCSV(br, in)
	case formatHosts:
		err = readHosts(br, in)
	}
	if err != nil {
		return nil, importSummary{}, &exitError{code: exitFailure, err: fmt.Errorf("reading %s: %v; nothing written", name, err)}
	}
	return in, importSummary{File: name, Format: format, DryRun: im.dryRun}, nil
}

// reportRejected reports the rejected lines in order.
func (im *importer) reportRejected(rejected map[int]string) {
	a := im.app
	lines := make([]int, 0, len(rejected))
	for l := range rejected {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	name := im.file
	if name == "-" {
		name = "stdin"
	}
	for _, l := range lines {
		if a.json {
			a.printJSON(rejection{Kind: "rejected", Line: l, Reason: rejected[l]})
		} else {
			fmt.Fprintf(a.stderr, "%s:%d: rejected: %s\n", name, l, rejected[l])
		}
	}
}

// importParallel is how many batches are in flight at once: while Redis
// works on one, rptrctl encodes and decodes the others.
const importParallel = 4

// write brings Redis in line with recs, a batch at a time: it reads the
// batch's records, and writes those that differ in one pipelined
// transaction. sum counts what was done, up to a failure; after one, no
// batch is started, and those in flight finish and are counted.
func (im *importer) write(ctx context.Context, s *ptrstore.Admin, recs []pending, sum *importSummary) error {
	bar := im.app.progress(int64(len(recs)), "importing")
	defer bar.Close()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	slots := make(chan struct{}, importParallel)
	for start := 0; start < len(recs); start += im.batch {
		slots <- struct{}{}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		batch := recs[start:min(start+im.batch, len(recs))]
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			fresh, changed, unchanged, written, err := im.writeBatch(ctx, s, batch)
			mu.Lock()
			defer mu.Unlock()
			// In a cluster, a failed batch may have written some keys.
			sum.Written += written
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			sum.New += fresh
			sum.Changed += changed
			sum.Unchanged += unchanged
			bar.Add(len(batch))
		}()
	}
	wg.Wait()
	return firstErr
}

// writeBatch reads the records of batch and writes those that differ;
// written is how many it wrote, also when it failed.
func (im *importer) writeBatch(ctx context.Context, s *ptrstore.Admin, batch []pending) (fresh, changed, unchanged, written int, err error) {
	ctx, cancel := context.WithTimeout(ctx, im.app.timeout)
	defer cancel()
	addrs := make([]netip.Addr, len(batch))
	for i, p := range batch {
		addrs[i] = p.addr
	}
	res, err := s.GetMany(ctx, addrs)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	var ws []ptrstore.Write
	for i, r := range res {
		var invalid *ptrstore.InvalidError
		switch {
		case r.Err == nil && r.Record.SameAs(batch[i].rec):
			unchanged++
			continue
		case errors.Is(r.Err, ptrstore.ErrNotFound):
			fresh++
		case r.Err == nil || errors.As(r.Err, &invalid):
			changed++
		default:
			return 0, 0, 0, 0, r.Err
		}
		ws = append(ws, ptrstore.Write{Addr: batch[i].addr, Record: batch[i].rec})
	}
	if im.dryRun {
		// What would be written, for the summary.
		return fresh, changed, unchanged, len(ws), nil
	}
	if len(ws) > 0 {
		if written, err = s.Put(ctx, ws); err != nil {
			return 0, 0, 0, written, err
		}
	}
	return fresh, changed, unchanged, written, nil
}

func (im *importer) printSummary(sum importSummary) {
	a := im.app
	if a.json {
		sum.Kind = "summary"
		a.printJSON(sum)
		return
	}
	verb := "written"
	if sum.DryRun {
		verb = "to write"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %d records read, %d %s (%d new, %d changed), %d unchanged",
		sum.File, sum.Format, sum.Read, sum.Written, verb, sum.New, sum.Changed, sum.Unchanged)
	if sum.Duplicate > 0 {
		fmt.Fprintf(&b, ", %d duplicates", sum.Duplicate)
	}
	if sum.Skipped > 0 {
		fmt.Fprintf(&b, ", %d SOA/NS skipped", sum.Skipped)
	}
	fmt.Fprintf(&b, "; %d lines rejected", sum.Rejected)
	if sum.NotWritten > 0 {
		fmt.Fprintf(&b, " (with %d records, not written)", sum.NotWritten)
	}
	if sum.DryRun {
		b.WriteString("; dry run: nothing written")
	}
	switch {
	case sum.Error != "" && sum.DryRun:
		b.WriteString("; stopped: Redis failed")
	case sum.Error != "":
		fmt.Fprintf(&b, "; stopped: Redis failed after %d records were written", sum.Written)
	}
	// On stderr, as every command's summary: stdout is for records.
	fmt.Fprintln(a.stderr, b.String())
}

// detectFormat tells the format of an input from its file name or, failing
// that, from head, its first bytes: see import's help.
func detectFormat(file string, head []byte) (string, error) {
	if file != "-" {
		base := strings.ToLower(filepath.Base(file))
		switch filepath.Ext(base) {
		case ".zone", ".db", ".arpa":
			return formatZone, nil
		case ".csv":
			return formatCSV, nil
		case ".hosts":
			return formatHosts, nil
		}
		if base == "hosts" {
			return formatHosts, nil
		}
	}
	for line := range bytes.Lines(head) {
		l := strings.TrimSpace(string(line))
		if l == "" || l[0] == ';' || l[0] == '#' {
			continue
		}
		if l[0] == '$' {
			return formatZone, nil
		}
		fields := strings.Fields(l)
		if _, err := netip.ParseAddr(strings.Split(fields[0], "%")[0]); err == nil && len(fields) >= 2 && !strings.Contains(fields[0], ",") {
			// An address, a blank and a name: a hosts file, whatever its
			// aliases are called ("ns", say).
			return formatHosts, nil
		}
		for _, f := range fields {
			switch strings.ToUpper(f) {
			case "PTR", "SOA", "NS":
				return formatZone, nil
			}
		}
		if strings.Contains(strings.ToLower(fields[0]), ".arpa") {
			return formatZone, nil
		}
		if first, _, ok := strings.Cut(l, ","); ok {
			first = strings.Trim(strings.TrimSpace(first), `"`)
			if _, err := netip.ParseAddr(first); err == nil || strings.EqualFold(first, "ip") {
				return formatCSV, nil
			}
		}
		if _, err := netip.ParseAddr(strings.Split(fields[0], "%")[0]); err == nil && len(fields) >= 2 {
			return formatHosts, nil
		}
		return "", usageErrorf("cannot tell the format of %s from its first line %q; give --format", displayName(file), l)
	}
	return "", usageErrorf("cannot tell the format of %s: no record in its first %d bytes; give --format", displayName(file), len(head))
}

func displayName(file string) string {
	if file == "-" {
		return "stdin"
	}
	return file
}

// readCSV reads ip,name[,ttl[,disabled]] lines.
func readCSV(r io.Reader, in *intake) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = true
	first := true
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			in.reject(perr.StartLine, perr.Err.Error())
			first = false
			continue
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		last, _ := cr.FieldPos(len(fields) - 1)
		if last += strings.Count(fields[len(fields)-1], "\n"); last != line {
			// A quote left open takes the lines after it into one field;
			// no valid record spans lines.
			for l := line; l <= last; l++ {
				in.reject(l, fmt.Sprintf("a quoted field runs from line %d to line %d", line, last))
			}
			first = false
			continue
		}
		if first {
			first = false
			if isCSVHeader(fields) {
				continue
			}
		}
		addr, rec, err := csvRecord(fields)
		if err != nil {
			in.reject(line, err.Error())
			continue
		}
		in.add(line, addr, rec)
	}
}

// isCSVHeader reports whether fields are csvHeader or a leading part of it
// of at least two fields, in any letter case.
func isCSVHeader(fields []string) bool {
	if len(fields) < 2 || len(fields) > len(csvHeader) {
		return false
	}
	for i, f := range fields {
		if !strings.EqualFold(strings.TrimSpace(f), csvHeader[i]) {
			return false
		}
	}
	return true
}

// csvRecord decodes the fields of one CSV line.
func csvRecord(fields []string) (netip.Addr, ptrstore.Record, error) {
	if len(fields) < 2 || len(fields) > len(csvHeader) {
		return netip.Addr{}, ptrstore.Record{}, fmt.Errorf("%d fields, want ip,name[,ttl[,disabled]]", len(fields))
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	addr, err := lineAddr(fields[0])
	if err != nil {
		return netip.Addr{}, ptrstore.Record{}, err
	}
	name, err := ptrstore.HostName(fields[1])
	if err != nil {
		return netip.Addr{}, ptrstore.Record{}, err
	}
	rec := ptrstore.Record{Name: name}
	if len(fields) > 2 && fields[2] != "" {
		if rec.TTL, err = ptrstore.ParseTTL(fields[2]); err != nil {
			return netip.Addr{}, ptrstore.Record{}, err
		}
		rec.HasTTL = true
	}
	if len(fields) > 3 && fields[3] != "" {
		if rec.Disabled, err = ptrstore.ParseBool(fields[3]); err != nil {
			return netip.Addr{}, ptrstore.Record{}, fmt.Errorf("disabled: %v", err)
		}
	}
	return addr, rec, nil
}

// lineAddr parses the address of an input line, in any form netip reads.
func lineAddr(s string) (netip.Addr, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if addr.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q has a zone; a PTR record is for an address without one", s)
	}
	return addr, nil
}

// readHosts reads a hosts file: IP NAME [ALIASES...] [# comment].
func readHosts(r io.Reader, in *intake) error {
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		text, err := br.ReadString('\n')
		if text != "" {
			if i := strings.IndexByte(text, '#'); i >= 0 {
				text = text[:i]
			}
			if fields := strings.Fields(text); len(fields) > 0 {
				addr, rec, rerr := hostsRecord(fields)
				if rerr != nil {
					in.reject(line, rerr.Error())
				} else {
					in.add(line, addr, rec)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func hostsRecord(fields []string) (netip.Addr, ptrstore.Record, error) {
	addr, err := lineAddr(fields[0])
	if err != nil {
		return netip.Addr{}, ptrstore.Record{}, err
	}
	if len(fields) < 2 {
		return netip.Addr{}, ptrstore.Record{}, errors.New("no host name after the address")
	}
	name, err := ptrstore.HostName(fields[1])
	if err != nil {
		return netip.Addr{}, ptrstore.Record{}, err
	}
	return addr, ptrstore.Record{Name: name}, nil
}
