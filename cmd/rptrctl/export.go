package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rptr-dns/rptr/ptrstore"
)

func init() {
	commands = append(commands, exportCommand)
}

func exportCommand(a *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export [CIDR...]",
		Short: "Write records as CSV or as a zone file, for import",
		Long: `export streams every record, or those in the CIDRs, to standard output in
a form that import reads back to the same records. It uses SCAN, never
KEYS; the order is Redis's.

  csv   (default) the header "ip,name,ttl,disabled", then one line a record:
        the canonical address, the absolute name, the TTL (empty when the
        record has none) and 1 when the record is disabled (else empty).
        Everything a record holds is carried.
  zone  one PTR line a record with the absolute owner name, without
        $ORIGIN or $TTL: "10.2.0.192.in-addr.arpa. 300 IN PTR mail.example.com.",
        and no TTL field when the record has none. A zone file cannot say
        that a record is disabled: disabled records are written as comments
        ("; disabled: ..."), which import skips, a warning counts them,
        and export exits with 1.
        Use csv to carry them. The output is a list of records for import,
        not a zone to serve: it has no SOA or NS.

Key expiries are not exported: import writes the records without expiry.
Invalid records (values the plugin would not serve) are skipped with a
warning on stderr naming the key, and make export exit with 1; keys whose
address text is not canonical are left out, as by list (see lint). A
summary of what was exported goes to stderr.`,
		Example: `  rptrctl export > records.csv
  rptrctl export --format zone 192.0.2.0/24 > 2.0.192.in-addr.arpa.zone
  rptrctl export 2001:db8::/32 | rptrctl --prefix copy: import --format csv -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != formatCSV && format != formatZone {
				return usageErrorf("--format %q: want csv or zone", format)
			}
			if a.json {
				return usageErrorf("export writes csv or zone; for JSON, use list --json")
			}
			nets, err := parsePrefixes(args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if _, err := a.store(ctx); err != nil {
				return err
			}
			out := bufio.NewWriterSize(a.stdout, 64<<10)
			ex := &exporter{app: a, out: out, format: format}
			if format == formatCSV {
				ex.csv = csv.NewWriter(out)
				ex.csv.Write(csvHeader)
			}
			bar := ex.progress()
			defer bar.Close()
			err = a.eachRecord(ctx, nets, func(r ptrstore.Result) error {
				if err := ex.write(r); err != nil {
					return err
				}
				return bar.Add(1)
			})
			if ex.csv != nil {
				ex.csv.Flush()
				if err == nil {
					err = ex.csv.Error()
				}
			}
			if ferr := out.Flush(); err == nil {
				err = ferr
			}
			bar.Finish()
			ex.summary()
			if err != nil {
				return &exitError{code: exitFailure, err: fmt.Errorf("export stopped after %d records: %w", ex.records, err)}
			}
			if ex.invalid > 0 {
				return problems(ex.invalid, "invalid records skipped")
			}
			// A zone cannot say "disabled": the output does not import
			// back to the same records.
			return problems(ex.disabled, "disabled records written as comments, which import does not read back (use --format csv)")
		},
	}
	cmd.Flags().StringVar(&format, "format", formatCSV, "output format: csv or zone")
	return cmd
}

// exporter writes the records of one export.
type exporter struct {
	app    *app
	out    io.Writer
	format string
	csv    *csv.Writer

	records  int // written, disabled ones as comments included
	disabled int // written as comments
	invalid  int // skipped
}

// progress returns a progress bar on stderr, drawn only when the records
// go elsewhere than the terminal.
func (ex *exporter) progress() *progressbar.ProgressBar {
	if f, ok := ex.app.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return progressbar.DefaultSilent(-1, "exporting")
	}
	return ex.app.progress(-1, "exporting")
}

// write writes one record, or warns of an invalid one.
func (ex *exporter) write(r ptrstore.Result) error {
	var invalid *ptrstore.InvalidError
	switch {
	case errors.As(r.Err, &invalid):
		ex.invalid++
		fmt.Fprintf(ex.app.stderr, "rptrctl: skipped %s: %s\n", r.Key, invalid.Reason)
		return nil
	case r.Err != nil:
		return r.Err
	}
	ex.records++
	rec := r.Record
	if ex.format == formatCSV {
		ttl, disabled := "", ""
		if rec.HasTTL {
			ttl = strconv.FormatUint(uint64(rec.TTL), 10)
		}
		if rec.Disabled {
			disabled = "1"
		}
		return ex.csv.Write([]string{r.Addr.String(), rec.Name, ttl, disabled})
	}
	line := zoneLine(r.Addr, rec)
	if rec.Disabled {
		ex.disabled++
		line = "; disabled: " + line
	}
	_, err := fmt.Fprintln(ex.out, line)
	return err
}

// summary reports on stderr what was exported.
func (ex *exporter) summary() {
	w := ex.app.stderr
	fmt.Fprintf(w, "rptrctl: exported %d records", ex.records)
	if ex.disabled > 0 {
		fmt.Fprintf(w, "; %d disabled ones as comments, which import does not read back (use --format csv)", ex.disabled)
	}
	if ex.invalid > 0 {
		fmt.Fprintf(w, "; %d invalid records skipped", ex.invalid)
	}
	fmt.Fprintln(w)
}
