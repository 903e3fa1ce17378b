// Package benchrig is what the measuring commands (cmd/loadtest,
// cmd/importbench, cmd/reportbench) share: a simplesender binary to run,
// and a fresh database to run it on.
package benchrig

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver for database/sql
)

// Binary returns bin, or, when it is empty, a simplesender built from
// ./cmd/simplesender into dir.
func Binary(dir, bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(dir, "simplesender")
	fmt.Fprintln(os.Stderr, "building simplesender ...")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/simplesender").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
}

// Database returns the URL of a fresh database, its engine's name, and a
// function that removes it: a new PostgreSQL database named prefix_RANDOM
// on the server of pgAdmin (an admin URL), or, when pgAdmin is empty, the
// SQLite file dir/file (dir is the caller's to remove).
func Database(pgAdmin, prefix, dir, file string) (dbURL, engine string, drop func(), err error) {
	if pgAdmin == "" {
		return "sqlite:" + filepath.Join(dir, file), "sqlite", func() {}, nil
	}
	u, err := url.Parse(pgAdmin)
	if err != nil {
		return "", "", nil, err
	}
	adb, err := sql.Open("pgx", pgAdmin)
	if err != nil {
		return "", "", nil, err
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	if _, err := adb.Exec("CREATE DATABASE " + name); err != nil {
		adb.Close()
		return "", "", nil, err
	}
	u.Path = "/" + name
	return u.String(), "postgres", func() {
		adb.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") //nolint:errcheck
		adb.Close()
	}, nil
}
