package csvio

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"iter"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxLine is the default limit on the length of a line in bytes, and on a
// row that spans several lines inside quotes.
const MaxLine = 64 << 10

// HeaderMode says whether the first row of a file names the columns.
type HeaderMode uint8

// The header modes.
const (
	// HeaderAuto: the first row is a header, unless none of its cells names
	// an e-mail column and one of them holds an "@" (a bare list of
	// addresses); then it is data, and that column holds the addresses.
	HeaderAuto HeaderMode = iota
	HeaderPresent
	HeaderAbsent
)

// Options change how a file is read. The zero value detects everything.
type Options struct {
	Encoding  Encoding   // "" detects UTF-8 or Windows-1251
	Separator rune       // 0 detects ',', ';' or tab; ',', ';', '\t' and '|' may be given
	Header    HeaderMode // HeaderAuto by default
	// Mapping gives the field of each column by index (missing ones are
	// ignored); nil guesses it from the header names (see GuessField).
	Mapping []Field
	// Names maps more header names, normalized (see NormalizeHeader), to
	// fields when the mapping is guessed: the owner's custom fields.
	Names map[string]Field
	// MaxLine limits a line, and a row spanning lines, in bytes; 0 means
	// the MaxLine constant.
	MaxLine int
}

// Format is what a Reader found out about a file, or was told.
type Format struct {
	Encoding  Encoding
	BOM       bool // the file starts with a UTF-8 byte order mark
	Separator rune
	Header    []string // the cells of the header row, trimmed; nil when the file has none
	Columns   int      // the number of cells in the header (or the first) row
	Mapping   []Field  // the field of each of the Columns columns
}

// Options returns options that read the file the same way again without
// detecting anything.
func (f Format) Options() Options {
	h := HeaderPresent
	if f.Header == nil {
		h = HeaderAbsent
	}
	return Options{Encoding: f.Encoding, Separator: f.Separator, Header: h, Mapping: slices.Clone(f.Mapping)}
}

// Record is one row of the file mapped to the recipient fields. The values
// are as written in the file (an apostrophe added by Neutralize removed), not
// trimmed or validated. Fields that no column maps to are empty.
type Record struct {
	Line       int // the line of the file where the row starts, from 1
	Email      string
	LastName   string
	FirstName  string
	MiddleName string
	Comment    string
	// Tags and Lists are the cells mapped to Tags and Lists, as written.
	Tags, Lists string
	// Values holds the cells of custom fields by key (nil when no column
	// maps to one).
	Values map[string]string
	// Overflow is set when cells beyond the header's columns hold text:
	// a separator inside a value that should have been quoted, usually.
	Overflow bool
}

// Reader reads the rows of a recipient CSV file one at a time.
type Reader struct {
	br      *bufio.Reader
	max     int
	eol     byte
	sep     byte
	line    int  // lines read so far
	pending bool // the encoding is not settled: every line so far was ASCII
	guessed bool // the encoding was detected, not given
	format  Format

	raw       int    // size in bytes of the last line read
	dec       []byte // the last line decoded from Windows-1251
	unread    []byte // a line pushed back by NewReader
	hasUnread bool

	st    state
	buf   []byte   // the cells of the row being read, one after the other
	ends  []int    // where each cell ends in buf
	cells []string // the cells of the last row

	held     []string // the first row of a file without a header
	heldLine int
	err      error // sticky
}

// state is where the row scanner is.
type state uint8

const (
	atCellStart state = iota
	inPlain           // an unquoted cell
	inQuoted          // a quoted cell
	atQuote           // a quote inside a quoted cell: its end, or the first of two
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// NewReader reads the start of the file: it checks that it is text, detects
// the encoding and the separator, reads the header row and maps the columns.
// Errors are an *Error: KeyEmpty, KeyBinary, KeySpreadsheet, KeyEncoding,
// KeyLineTooLong, KeyOpenQuote, KeyNoEmailColumn, KeyMapping, KeySeparator;
// or an error of src.
func NewReader(src io.Reader, o Options) (*Reader, error) {
	if o.Separator != 0 && !validSeparator(o.Separator) {
		return nil, &Error{Key: KeySeparator}
	}
	switch o.Encoding {
	case "", UTF8, Windows1251:
	default:
		return nil, &Error{Key: KeyEncoding}
	}
	limit := o.MaxLine
	if limit <= 0 {
		limit = MaxLine
	}
	limit = max(limit, 16)
	r := &Reader{br: bufio.NewReaderSize(src, limit), max: limit, eol: '\n'}
	head, err := r.br.Peek(limit)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	atEOF := err != nil
	if err := sniff(head); err != nil {
		return nil, err
	}
	if bytes.HasPrefix(head, utf8BOM) {
		r.format.BOM = true
		head = head[len(utf8BOM):]
		_, _ = r.br.Discard(len(utf8BOM))
	}
	switch {
	case o.Encoding != "":
		r.format.Encoding = o.Encoding
	case r.format.BOM:
		r.format.Encoding = UTF8
	default:
		r.format.Encoding, r.pending = detectEncoding(head, atEOF)
		r.guessed = true
	}
	if bytes.IndexByte(head, '\n') < 0 && bytes.IndexByte(head, '\r') >= 0 {
		r.eol = '\r' // classic Mac line ends
	}
	if err := r.readHeader(o); err != nil {
		return nil, err
	}
	return r, nil
}

// readHeader detects the separator, reads the first row and settles the
// mapping.
func (r *Reader) readHeader(o Options) error {
	first, err := r.firstLine()
	if err != nil {
		return err
	}
	sep, fromExcel := excelSepLine(first)
	if fromExcel {
		if first, err = r.firstLine(); err != nil {
			return err
		}
	}
	switch {
	case o.Separator != 0:
		r.sep = byte(o.Separator)
	case fromExcel:
		r.sep = sep
	default:
		r.sep = detectSeparator(first)
	}
	r.format.Separator = rune(r.sep)
	r.unread, r.hasUnread = first, true
	cells, line, err := r.next()
	if err != nil {
		return err
	}
	r.format.Columns = len(cells)
	header := make([]string, len(cells))
	for i, c := range cells {
		header[i] = strings.TrimSpace(c)
	}
	guess := guessMapping(header, o.Names)
	hasHeader := o.Header != HeaderAbsent
	if o.Header == HeaderAuto && !slices.Contains(guess, Email) && slices.ContainsFunc(header, isAddressLike) {
		hasHeader = false
	}
	if hasHeader {
		r.format.Header = header
	} else {
		r.held, r.heldLine = slices.Clone(cells), line
		guess = make([]Field, len(cells))
		if i := slices.IndexFunc(header, isAddressLike); i >= 0 {
			guess[i] = Email
		}
	}
	if o.Mapping != nil {
		m, err := checkMapping(o.Mapping, len(cells))
		if err != nil {
			err.Line = line
			return err
		}
		r.format.Mapping = m
		return nil
	}
	if !slices.Contains(guess, Email) {
		return &Error{Line: line, Key: KeyNoEmailColumn}
	}
	r.format.Mapping = guess
	return nil
}

func isAddressLike(s string) bool { return strings.Contains(s, "@") }

// firstLine returns the next line that is not blank.
func (r *Reader) firstLine() ([]byte, error) {
	for {
		l, err := r.readLine()
		if errors.Is(err, io.EOF) {
			return nil, &Error{Key: KeyEmpty}
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(l)) > 0 {
			return l, nil
		}
	}
}

// Format returns what the reader found out about the file. The encoding of
// a file whose lines so far were all ASCII is UTF-8 until a line says
// otherwise.
func (r *Reader) Format() Format {
	f := r.format
	f.Header = slices.Clone(f.Header)
	f.Mapping = slices.Clone(f.Mapping)
	return f
}

// Line returns the number of lines read so far.
func (r *Reader) Line() int { return r.line }

// All yields the rows that Read returns until io.EOF; a problem with the
// file is yielded as Read returns it, once, and ends the rows.
func (r *Reader) All() iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) || !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

// Read returns the next row that is not blank, and io.EOF after the last.
// A problem with the file is an *Error (KeyEncoding, KeyLineTooLong,
// KeyOpenQuote, KeyBinary) with its line, and every later call returns it
// again.
func (r *Reader) Read() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	if cells := r.held; cells != nil {
		r.held = nil
		if !blank(cells) {
			return r.record(cells, r.heldLine), nil
		}
	}
	for {
		cells, line, err := r.next()
		if err != nil {
			r.err = err
			return Record{}, err
		}
		if !blank(cells) {
			return r.record(cells, line), nil
		}
	}
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// record maps the cells of a row to the fields.
func (r *Reader) record(cells []string, line int) Record {
	rec := Record{Line: line}
	var full string
	for i, c := range cells {
		if i >= len(r.format.Mapping) {
			if strings.TrimSpace(c) != "" {
				rec.Overflow = true
			}
			continue
		}
		switch r.format.Mapping[i] {
		case Email:
			rec.Email = unneutralize(c)
		case LastName:
			rec.LastName = unneutralize(c)
		case FirstName:
			rec.FirstName = unneutralize(c)
		case MiddleName:
			rec.MiddleName = unneutralize(c)
		case FullName:
			full = unneutralize(c)
		case Comment:
			rec.Comment = unneutralize(c)
		case Tags:
			rec.Tags = unneutralize(c)
		case Lists:
			rec.Lists = unneutralize(c)
		default:
			if k, ok := r.format.Mapping[i].CustomKey(); ok {
				if rec.Values == nil {
					rec.Values = make(map[string]string, 4)
				}
				rec.Values[k] = unneutralize(c)
			}
		}
	}
	if parts := strings.Fields(full); len(parts) > 0 {
		if strings.TrimSpace(rec.LastName) == "" {
			rec.LastName = parts[0]
		}
		if len(parts) > 1 && strings.TrimSpace(rec.FirstName) == "" {
			rec.FirstName = parts[1]
		}
		if len(parts) > 2 && strings.TrimSpace(rec.MiddleName) == "" {
			rec.MiddleName = strings.Join(parts[2:], " ")
		}
	}
	return rec
}

// readLine returns the next line of the file as UTF-8, with its line end.
// The slice is valid until the next call.
func (r *Reader) readLine() ([]byte, error) {
	if r.hasUnread {
		r.hasUnread = false
		return r.unread, nil
	}
	raw, err := r.br.ReadSlice(r.eol)
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, &Error{Line: r.line + 1, Key: KeyLineTooLong}
	case err != nil && !errors.Is(err, io.EOF):
		return nil, err
	case len(raw) == 0:
		return nil, io.EOF
	}
	r.line++
	r.raw = len(raw)
	if bytes.IndexByte(raw, 0) >= 0 {
		return nil, &Error{Line: r.line, Key: KeyBinary}
	}
	return r.decode(raw)
}

// decode turns a line into UTF-8, settling a pending encoding at the first
// line that is not ASCII.
func (r *Reader) decode(raw []byte) ([]byte, error) {
	if r.format.Encoding == Windows1251 {
		if r.guessed && looksUTF8(raw) {
			// A UTF-8 line in a file taken for Windows-1251: two files
			// pasted together, which would import as gibberish.
			return nil, &Error{Line: r.line, Key: KeyEncoding, Err: errors.New("UTF-8 text in a Windows-1251 file")}
		}
		r.dec = decode1251(r.dec[:0], raw)
		return r.dec, nil
	}
	if utf8.Valid(raw) {
		if r.pending && !isASCII(raw) {
			r.pending = false
		}
		return raw, nil
	}
	if r.pending {
		r.pending = false
		r.format.Encoding = Windows1251
		return r.decode(raw)
	}
	return nil, &Error{Line: r.line, Key: KeyEncoding, Err: errors.New("invalid UTF-8")}
}

// next reads one row, over several lines when a quoted cell holds line
// breaks, and returns its cells and its first line. The cells are valid
// until the next call.
func (r *Reader) next() ([]string, int, error) {
	r.buf, r.ends, r.st = r.buf[:0], r.ends[:0], atCellStart
	start, size := 0, 0
	for {
		line, err := r.readLine()
		if errors.Is(err, io.EOF) && start != 0 {
			return nil, 0, &Error{Line: start, Key: KeyOpenQuote}
		}
		if err != nil {
			return nil, 0, err
		}
		if start == 0 {
			start = r.line
		}
		// A quoted cell that runs on for this long is a quote left open.
		if size += r.raw; size > r.max {
			return nil, 0, &Error{Line: start, Key: KeyOpenQuote}
		}
		if r.scan(line) {
			break
		}
	}
	s := string(r.buf)
	r.cells = r.cells[:0]
	from := 0
	for _, to := range r.ends {
		r.cells = append(r.cells, s[from:to])
		from = to
	}
	return r.cells, start, nil
}

// scan adds one line to the row being read and reports whether the row
// ends with it. Quotes follow RFC 4180 ("" is a quote inside a quoted cell),
// leniently: a quote inside an unquoted cell, or text after a closing
// quote, is kept as it is.
func (r *Reader) scan(line []byte) bool {
	n := len(line)
	eol := n > 0 && line[n-1] == r.eol
	if eol {
		n--
		if r.eol == '\n' && n > 0 && line[n-1] == '\r' {
			n--
		}
	}
	for _, c := range line[:n] {
		switch r.st {
		case atCellStart:
			if c == '"' {
				r.st = inQuoted
				continue
			}
			r.st = inPlain
			fallthrough
		case inPlain:
			if c == r.sep {
				r.ends = append(r.ends, len(r.buf))
				r.st = atCellStart
				continue
			}
			r.buf = append(r.buf, c)
		case inQuoted:
			if c == '"' {
				r.st = atQuote
				continue
			}
			r.buf = append(r.buf, c)
		case atQuote:
			switch c {
			case '"':
				r.buf = append(r.buf, '"')
				r.st = inQuoted
			case r.sep:
				r.ends = append(r.ends, len(r.buf))
				r.st = atCellStart
			default:
				r.buf = append(r.buf, '"', c)
				r.st = inPlain
			}
		}
	}
	if r.st == inQuoted {
		if eol {
			r.buf = append(r.buf, '\n')
		}
		return false
	}
	r.ends = append(r.ends, len(r.buf))
	return true
}
