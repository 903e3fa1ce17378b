package csvio

import (
	"encoding/csv"
	"io"
)

// WriterOptions change how a Writer writes.
type WriterOptions struct {
	// BOM starts the file with a UTF-8 byte order mark, which Excel needs
	// to read UTF-8 (without it Excel assumes the local code page).
	BOM bool
	// Separator between cells: ',' (the default), ';' (what Russian Excel
	// expects), '\t' or '|'.
	Separator rune
}

// Writer writes a CSV file for spreadsheets: UTF-8, CRLF line ends, cells
// quoted where needed and neutralised against formula injection (see
// Neutralize). Output is buffered: call Flush at the end.
type Writer struct {
	w       io.Writer
	cw      *csv.Writer
	bom     bool
	started bool
	cells   []string
}

// NewWriter returns a Writer to w. A separator that is not allowed is
// replaced by a comma.
func NewWriter(w io.Writer, o WriterOptions) *Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if o.Separator != 0 && validSeparator(o.Separator) {
		cw.Comma = o.Separator
	}
	return &Writer{w: w, cw: cw, bom: o.BOM}
}

// Write writes one row, each cell passed through Neutralize.
func (w *Writer) Write(cells ...string) error {
	if err := w.start(); err != nil {
		return err
	}
	w.cells = w.cells[:0]
	for _, c := range cells {
		w.cells = append(w.cells, Neutralize(c))
	}
	return w.cw.Write(w.cells)
}

// Flush writes out what is buffered and returns the first error of any
// write so far.
func (w *Writer) Flush() error {
	// An empty file still gets its mark.
	if err := w.start(); err != nil {
		return err
	}
	w.cw.Flush()
	return w.cw.Error()
}

// start writes the byte order mark before anything else.
func (w *Writer) start() error {
	if w.started {
		return nil
	}
	w.started = true
	if w.bom {
		_, err := w.w.Write(utf8BOM)
		return err
	}
	return nil
}
