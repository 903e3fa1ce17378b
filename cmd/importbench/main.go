// Command importbench measures a CSV import of recipients: it writes a file
// of N rows (Russian names, semicolons, as Russian Excel saves them), creates
// a fresh database and a user, runs `simplesender import-recipients` on it as
// a separate process, and prints rows per second, the process's CPU time and
// its peak RSS (from wait4's rusage). With -again it imports the same file a
// second time, which must change nothing.
//
//	go run ./cmd/importbench -n 100000
//	go run ./cmd/importbench -n 1000000 -encoding windows-1251 -again
//	go run ./cmd/importbench -n 100000 -db 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
//
// With -fields the owner has three custom fields (text, number, date) and
// the file three more columns that map to them, and a tags column:
//
//	go run ./cmd/importbench -n 100000 -fields
//
// With -db pointing at a PostgreSQL server it creates (and afterwards drops)
// a fresh database there; without it, a SQLite file in a temporary folder.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/text/encoding/charmap"

	"simplesender"
	"simplesender/internal/benchrig"
	"simplesender/internal/store"
)

func main() {
	n := flag.Int("n", 100000, "rows in the file")
	dbURL := flag.String("db", "", "PostgreSQL admin URL; empty: SQLite in a temporary folder")
	bin := flag.String("bin", "", "simplesender binary; empty: build ./cmd/simplesender")
	enc := flag.String("encoding", "utf-8", "encoding of the file: utf-8 or windows-1251")
	again := flag.Bool("again", false, "import the same file a second time (with --update) and measure that too")
	keep := flag.Bool("keep", false, "keep the temporary folder and database")
	fields := flag.Bool("fields", false, "three custom fields (text, number, date) and a tags column in the file")
	flag.Parse()
	if err := run(*n, *dbURL, *bin, *enc, *again, *keep, *fields); err != nil {
		fmt.Fprintln(os.Stderr, "importbench:", err)
		os.Exit(1)
	}
}

func run(n int, admin, bin, enc string, again, keep, fields bool) error {
	dir, bin, remove, err := benchrig.Workdir("ssimport-", bin, keep)
	if err != nil {
		return err
	}
	defer remove()
	file := filepath.Join(dir, "recipients.csv")
	size, err := writeFile(file, n, enc == "windows-1251", fields)
	if err != nil {
		return err
	}
	dbURL, engine, drop, err := benchrig.Database(admin, "ssimport", dir, "import.db", keep)
	if err != nil {
		return err
	}
	defer drop()
	env := append(os.Environ(), "SIMPLESENDER_DATA_DIR="+filepath.Join(dir, "data"), "SIMPLESENDER_DATABASE_URL="+dbURL,
		"SIMPLESENDER_LOG_LEVEL=warn")
	admCmd := exec.Command(bin, "create-admin", "--email", "owner@example.com", "--password-stdin")
	admCmd.Env, admCmd.Stdin = env, strings.NewReader("long-unusual-phrase\n")
	if out, err := admCmd.CombinedOutput(); err != nil {
		return fmt.Errorf("create-admin: %v\n%s", err, out)
	}
	if fields {
		if err := defineFields(dbURL, "owner@example.com"); err != nil {
			return err
		}
	}
	fmt.Printf("file: %d rows, %.1f MiB, %s; database: %s; custom fields: %v\n", n, float64(size)/(1<<20), enc, engine, fields)
	if err := measure(bin, env, n, "first import", "imported: "+fmt.Sprint(n), "--email", "owner@example.com", "--quiet", file); err != nil {
		return err
	}
	if again {
		return measure(bin, env, n, "same file again", "unchanged: "+fmt.Sprint(n), "--email", "owner@example.com", "--quiet", "--update", file)
	}
	return nil
}

// measure runs one import and prints its figures; want must appear in the
// summary.
func measure(bin string, env []string, n int, label, want string, args ...string) error {
	cmd := exec.Command(bin, append([]string{"import-recipients"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil || !strings.Contains(out.String(), want+"\n") {
		return fmt.Errorf("%s: %v, want %q\n%s%s", label, err, want, out.String(), errb.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("%-16s %6.2f s  %8.0f rows/s  CPU %6.2f s  peak RSS %5.1f MiB\n", label+":", wall.Seconds(),
		float64(n)/wall.Seconds(), cpu.Seconds(), float64(ru.Maxrss)/1024)
	return nil
}

// writeFile writes n rows with a header, ; between cells and CRLF line
// ends, and returns its size.
func writeFile(path string, n int, cp1251, fields bool) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<16)
	last := []string{"Петров", "Иванов", "Сидорова", "Кузнецов", "Смирнова", "Попов", "Васильева", "Соколов"}
	first := []string{"Иван", "Ольга", "Сергей", "Анна", "Дмитрий", "Елена", "Алексей", "Мария"}
	middle := []string{"Сергеевич", "Ивановна", "Петрович", "Алексеевна", ""}
	line := func(s string) error {
		if cp1251 {
			var err error
			if s, err = charmap.Windows1251.NewEncoder().String(s); err != nil {
				return err
			}
		}
		_, err := w.WriteString(s)
		return err
	}
	header := "Электронная почта;Фамилия;Имя;Отчество;Комментарий"
	if fields {
		header += ";city;orders;since;tags"
	}
	if err := line(header + "\r\n"); err != nil {
		return 0, err
	}
	cities := []string{"Москва", "Тверь", "Омск", "Казань", ""}
	for i := range n {
		s := fmt.Sprintf("user%07d@example.com;%s;%s;%s;\"клиент №%d; с %d года\"", i, last[i%len(last)],
			first[i/len(last)%len(first)], middle[i%len(middle)], i, 2000+i%25)
		if fields {
			s += fmt.Sprintf(";%s;%d,%d;%02d.%02d.%d;client, group%d", cities[i%len(cities)], i%1000, i%10, 1+i%28, 1+i%12, 2000+i%25, i%7)
		}
		s += "\r\n"
		if err := line(s); err != nil {
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// defineFields gives the user with the address email the fields city
// (text), orders (number) and since (date).
func defineFields(dbURL, email string) error {
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.Store().UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	for _, f := range []simplesender.Field{{Key: "city", Type: simplesender.FieldText}, {Key: "orders", Type: simplesender.FieldNumber},
		{Key: "since", Type: simplesender.FieldDate}} {
		f.OwnerID, f.Name = u.ID, f.Key
		if err := db.Store().CreateField(ctx, &f); err != nil {
			return fmt.Errorf("define field %s: %w", f.Key, err)
		}
	}
	return nil
}
