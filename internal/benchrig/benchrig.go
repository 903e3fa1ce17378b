// Package benchrig is what the measuring commands (cmd/loadtest,
// cmd/importbench, cmd/reportbench) share: a simplesender binary to run,
// and a fresh database to run it on.
package benchrig

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver for database/sql
)

// Workdir makes a temporary folder whose name starts with prefix and
// returns it with Binary(dir, bin) and a function that removes the folder
// (one that does nothing when keep is set).
func Workdir(prefix, bin string, keep bool) (dir, binary string, remove func(), err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", nil, err
	}
	remove = func() {}
	if !keep {
		remove = func() { os.RemoveAll(dir) }
	}
	if binary, err = Binary(dir, bin); err != nil {
		remove()
		return "", "", nil, err
	}
	return dir, binary, remove, nil
}

// Serve starts `bin serve` with the environment env on a free local port
// and returns its address, the running command, and a function that stops
// it (SIGTERM) and waits for it to end.
func Serve(bin string, env []string) (addr string, cmd *exec.Cmd, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	addr = ln.Addr().String()
	ln.Close()
	cmd = exec.Command(bin, "serve", "--addr", addr)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, nil, err
	}
	return addr, cmd, func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }, nil
}

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
// SQLite file dir/file (dir is the caller's to remove). With keep, drop
// leaves the PostgreSQL database in place for a look after the run.
func Database(pgAdmin, prefix, dir, file string, keep bool) (dbURL, engine string, drop func(), err error) {
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
		if !keep {
			adb.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") //nolint:errcheck
		}
		adb.Close()
	}, nil
}

// ProcCPU is the CPU time (user and system) process pid has used so far,
// 0 when it cannot be read.
func ProcCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// ProcStatus is field (such as "VmRSS:" or "VmHWM:", in KiB) of process
// pid's /proc status, 0 when it cannot be read.
func ProcStatus(pid int, field string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			v, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return v
		}
	}
	return 0
}
