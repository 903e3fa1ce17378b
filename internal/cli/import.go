package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/csvio"
)

// runImportRecipients imports a CSV file into a user's recipient list,
// drawing progress on stderr and printing a summary on stdout.
func runImportRecipients(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("import-recipients",
		"import-recipients --email OWNER [--update|--skip-existing] [--valid-only] [--dry-run] [--separator ,|;|tab] [--encoding utf-8|windows-1251] FILE|-", e)
	email := fs.String("email", "", "the e-mail address of the user whose list receives the recipients (required)")
	update := fs.Bool("update", false, "overwrite recipients the user already has with the file's values")
	skip := fs.Bool("skip-existing", false, "leave recipients the user already has as they are (the default)")
	validOnly := fs.Bool("valid-only", false, "import the valid rows even if some rows are invalid (default: then nothing)")
	dryRun := fs.Bool("dry-run", false, "check the file and count what would happen, without writing")
	sep := fs.String("separator", "", "the separator between cells: , ; tab or | (default: detected)")
	enc := fs.String("encoding", "", "utf-8 or windows-1251 (default: detected)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	list := fs.String("list", "", "put everyone in the file on the user's list of this name (made if the user has none)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" || fs.NArg() != 1 || *update && *skip {
		fs.Usage()
		return errUsage
	}
	o := app.ImportOptions{Update: *update, ValidOnly: *validOnly, DryRun: *dryRun}
	var err error
	if o.CSV.Separator, err = parseSeparator(*sep); err != nil {
		return err
	}
	switch strings.ToLower(*enc) {
	case "":
	case "utf-8", "utf8":
		o.CSV.Encoding = csvio.UTF8
	case "windows-1251", "cp1251":
		o.CSV.Encoding = csvio.Windows1251
	default:
		return fmt.Errorf("--encoding %q: use utf-8 or windows-1251", *enc)
	}
	f, err := openInput(fs.Arg(0), e.Stdin)
	if err != nil {
		return err
	}
	defer f.Close()

	srv, u, err := openAs(ctx, e, *email)
	if err != nil {
		return err
	}
	defer srv.Close()
	if !*quiet {
		o.Progress = progressPrinter(e.Stderr)
	}
	if *list != "" && !*dryRun { // a dry run writes nothing, a list neither
		l, err := srv.App.ListByName(ctx, app.System, u.ID, *list, true)
		if err != nil {
			return fmt.Errorf("--list %q: %w", *list, err)
		}
		o.ListID = l.ID
	}
	// The file goes into the database as the user's import job, which this
	// process runs: every instance shows it, and should this process die, a
	// server takes it over.
	job, err := srv.App.UploadImport(ctx, app.System, u.ID, filepath.Base(fs.Arg(0)), f)
	if err != nil {
		if de := simplesender.AsError(err); de.Message != "" {
			return fmt.Errorf("%s: %s", fs.Arg(0), importMessage(de.Message))
		}
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	id := job.ID
	job, err = srv.App.RunImport(ctx, app.System, id, o)
	if err != nil || job.Refused() {
		// Nothing was imported: the upload need not wait for another try.
		_, _ = srv.App.CancelImport(context.WithoutCancel(ctx), app.System, id)
	}
	var res *app.ImportResult
	if err == nil {
		res, err = job.Result, job.Err()
	}
	if !*quiet && res != nil {
		fmt.Fprintln(e.Stderr)
	}
	if res != nil {
		printImportSummary(e.Stdout, res, o)
	}
	return importError(fs.Arg(0), job, res, err)
}

// importError is what the command says about an import that did not go
// through: err is why, res (if any) the summary.
func importError(file string, job *app.ImportJob, res *app.ImportResult, err error) error {
	switch {
	case err == nil:
		return nil
	case job != nil && job.State == app.ImportCancelled:
		return fmt.Errorf("interrupted: the import was cancelled after %d new and %d updated recipients", job.Progress.Imported, job.Progress.Updated)
	case simplesender.ErrorKind(err) == simplesender.KindInvalid && res != nil:
		return fmt.Errorf("nothing imported: %d of %d rows are invalid (fix them, or use --valid-only to import the others)", res.Invalid, res.Rows)
	}
	var ce *csvio.Error
	if errors.As(err, &ce) && ce.Line > 0 {
		return fmt.Errorf("%s: line %d: %s Nothing was imported.", file, ce.Line, importMessage(ce.Key))
	}
	if de := simplesender.AsError(err); de.Kind == simplesender.KindInvalid {
		return fmt.Errorf("%s: %s Nothing was imported.", file, importMessage(de.Message))
	}
	if de := simplesender.AsError(err); de.Kind == simplesender.KindInternal && de.Message != "" {
		return fmt.Errorf("%s: %s", file, importMessage(de.Message))
	}
	return err
}

func parseSeparator(s string) (rune, error) {
	switch s {
	case "":
		return 0, nil
	case ",", ";", "|":
		return rune(s[0]), nil
	case "tab", `\t`, "\t":
		return '\t', nil
	}
	return 0, fmt.Errorf("--separator %q: use , ; tab or |", s)
}

// openInput opens the file to import; "-" is standard input.
func openInput(name string, stdin io.Reader) (io.ReadCloser, error) {
	if name != "-" {
		return os.Open(name)
	}
	return io.NopCloser(stdin), nil
}

// progressPrinter returns a Progress callback that redraws one line on w at
// most five times a second, and at the end of each phase.
func progressPrinter(w io.Writer) func(app.ImportProgress) {
	var last time.Time
	var phase app.ImportPhase
	return func(p app.ImportProgress) {
		end := p.Phase == app.ImportWriting && p.Done == p.Total
		if p.Phase == phase && !end && time.Since(last) < 200*time.Millisecond {
			return
		}
		if phase == app.ImportChecking && p.Phase == app.ImportWriting {
			fmt.Fprintln(w)
		}
		phase, last = p.Phase, time.Now()
		if p.Phase == app.ImportChecking {
			fmt.Fprintf(w, "\rchecking: %d rows, %d invalid ", p.Done, p.Invalid)
			return
		}
		fmt.Fprintf(w, "\rwriting: %d/%d rows  new %d  updated %d  unchanged %d  skipped %d  repeated %d ",
			p.Done, p.Total, p.Imported, p.Updated, p.Unchanged, p.Skipped, p.Duplicates)
	}
}

// printImportSummary prints the counts, then the invalid and repeated rows.
func printImportSummary(w io.Writer, res *app.ImportResult, o app.ImportOptions) {
	f := res.Format
	sep := string(f.Separator)
	if f.Separator == '\t' {
		sep = "tab"
	}
	var cols []string
	for i, m := range f.Mapping {
		if m == csvio.Ignore {
			continue
		}
		name := fmt.Sprintf("column %d", i+1)
		if i < len(f.Header) {
			name = f.Header[i]
		}
		cols = append(cols, fmt.Sprintf("%s=%q", m, name))
	}
	fmt.Fprintf(w, "file: %s, separator %q, columns %s\n", f.Encoding, sep, strings.Join(cols, " "))
	c := res.ImportCounts
	fmt.Fprintf(w, "rows: %d\nimported: %d\nupdated: %d\nunchanged: %d\nskipped: %d\nduplicates: %d\ninvalid: %d\n",
		c.Rows, c.Imported, c.Updated, c.Unchanged, c.Skipped, c.Duplicates, c.Invalid)
	if o.DryRun {
		fmt.Fprintln(w, "dry run: nothing was written")
	}
	fmt.Fprintf(w, "time: %s\n", res.Elapsed.Round(time.Millisecond))
	for _, r := range res.Errors {
		keys := make([]string, 0, len(r.Fields))
		for k := range r.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var why []string
		for _, k := range keys {
			why = append(why, k+": "+importMessage(r.Fields[k]))
		}
		fmt.Fprintf(w, "invalid: line %d %q: %s\n", r.Line, r.Email, strings.Join(why, "; "))
	}
	if n := c.Invalid - len(res.Errors); n > 0 {
		fmt.Fprintf(w, "invalid: %d more rows not listed\n", n)
	}
	for _, d := range res.DuplicateRows {
		fmt.Fprintf(w, "duplicate: line %d %q: already on line %d, ignored\n", d.Line, d.Email, d.FirstLine)
	}
	if n := c.Duplicates - len(res.DuplicateRows); n > 0 {
		fmt.Fprintf(w, "duplicate: %d more rows not listed\n", n)
	}
}

// importMessages are the English texts of the import's message keys, for a
// terminal whose locale files do not have them yet.
var importMessages = map[string]string{
	csvio.KeyEmpty:               "The file is empty.",
	csvio.KeyBinary:              "This is not a CSV file (it holds binary data).",
	csvio.KeySpreadsheet:         "This is an Excel workbook, not a CSV file: save it as CSV first.",
	csvio.KeyEncoding:            "The text is neither UTF-8 nor Windows-1251: save the file as CSV UTF-8.",
	csvio.KeyLineTooLong:         "The line is longer than 64 KB.",
	csvio.KeyOpenQuote:           "A quote opened here is never closed.",
	csvio.KeyNoEmailColumn:       "No column holds e-mail addresses: name one \"email\", or choose it by hand.",
	csvio.KeyMapping:             "The column mapping does not fit the file.",
	csvio.KeySeparator:           "Choose a comma, a semicolon or a tab as the separator.",
	"error.csv.no_rows":          "The file has no rows under its header.",
	"error.import.invalid_rows":  "Some rows are invalid, so nothing was imported.",
	"error.import.email_missing": "The e-mail address is empty.",
	"error.import.email_several": "One address per row: this cell holds several.",
	"error.import.columns":       "The row has more cells than the header: a separator inside a value that is not quoted?",
}

// importMessage returns the English text of a message key.
func importMessage(key string) string {
	if l := english(); l != nil && l.Has(key) {
		return englishMessage(key)
	}
	if m, ok := importMessages[key]; ok {
		return m
	}
	return key
}

// runExportRecipients writes a user's recipients as CSV to a file or stdout.
func runExportRecipients(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("export-recipients", "export-recipients --email OWNER [--bom] [--separator ,|;|tab] [FILE|-]", e)
	email := fs.String("email", "", "the e-mail address of the user whose list to export (required)")
	bom := fs.Bool("bom", false, "start with a UTF-8 byte order mark, for Excel")
	sep := fs.String("separator", ",", "the separator between cells: , ; tab or | (Russian Excel expects ;)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" || fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	o := app.ExportOptions{BOM: *bom}
	var err error
	if o.Separator, err = parseSeparator(*sep); err != nil {
		return err
	}
	srv, u, err := openAs(ctx, e, *email)
	if err != nil {
		return err
	}
	defer srv.Close()
	out, name := e.Stdout, "standard output"
	if p := fs.Arg(0); p != "" && p != "-" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		out, name = f, p
	}
	n, err := srv.App.ExportRecipients(ctx, app.System, u.ID, out, o)
	if err != nil {
		return err
	}
	if f, ok := out.(*os.File); ok && out != e.Stdout {
		if err := f.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.Stderr, "exported %d recipients of %s to %s\n", n, u.Email, name)
	return nil
}
