package mailer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"time"

	"simplesender"
)

// Outbox is a Transport that writes each message as an RFC 5322 .eml file
// into a directory instead of sending it: the default when no SMTP server is
// configured, so that a newcomer can open the confirmation e-mail and follow
// its link. It is safe for concurrent use.
type Outbox struct {
	dir string
}

var _ Transport = (*Outbox)(nil)

// NewOutbox returns an Outbox that writes into dir, which is created with
// mode 0700 on the first Send when missing.
func NewOutbox(dir string) *Outbox { return &Outbox{dir: dir} }

// Send builds m and writes it to a new file in the outbox directory, named
// after the current UTC time and a random suffix
// (20261125T185601.123456789Z-1a2b3c4d.eml) so that names sort by time and
// never collide. The file (mode 0600) appears whole or not at all: it is
// written under a temporary name, synced and renamed. Result.Path is its
// path. Errors are ctx.Err(), those of Build, or an internal
// *simplesender.Error when the file cannot be written.
func (o *Outbox) Send(ctx context.Context, m *Message) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	now := time.Now()
	var buf bytes.Buffer
	id, err := Build(&buf, m, now)
	if err != nil {
		return Result{}, err
	}
	path, err := o.write(now, buf.Bytes())
	if err != nil {
		return Result{MessageID: id}, simplesender.Errorf("outbox: %w", err)
	}
	return Result{MessageID: id, Path: path}, nil
}

func (o *Outbox) write(now time.Time, data []byte) (string, error) {
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return "", err
	}
	// A dot file without the .eml suffix, so that nobody reading the
	// outbox takes a half-written file for a message.
	f, err := os.CreateTemp(o.dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	name := now.UTC().AppendFormat(make([]byte, 0, 48), "20060102T150405.000000000Z")
	name = append(name, '-')
	n := len(name)
	name = append(appendRandom(name)[:n+8], ".eml"...)
	path := filepath.Join(o.dir, string(name))
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, nil
}

// WriteRaw writes an already built message as a new .eml file, as Send
// does, and returns its path. The mailing engine builds messages itself.
func (o *Outbox) WriteRaw(ctx context.Context, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	path, err := o.write(time.Now(), data)
	if err != nil {
		return "", simplesender.Errorf("outbox: %w", err)
	}
	return path, nil
}
