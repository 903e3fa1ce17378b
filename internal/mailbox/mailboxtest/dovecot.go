// Package mailboxtest runs a real Dovecot IMAP and POP3 server for tests
// (Debian's dovecot-imapd and dovecot-pop3d), with its own configuration
// in a temporary folder.
package mailboxtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"simplesender/internal/nettest"
)

// Dovecot is a Dovecot server run by a test, with one user "bounces"
// (password "secret pass") whose mail is a maildir the test writes to. It
// listens on 127.0.0.1: IMAP and POP3 (plain text allowed, STARTTLS
// offered) and IMAPS and POP3S, with a certificate of its own that TLS
// trusts.
type Dovecot struct {
	IMAP, POP3, IMAPS, POP3S string
	// TLS trusts the server's certificate.
	TLS      *tls.Config
	maildir  string
	uid, gid int
	seq      int
}

// Start runs Debian's Dovecot (apt-get install dovecot-imapd
// dovecot-pop3d) with its own configuration in a temporary folder. The
// test is skipped without it, except under CI=true.
func Start(t *testing.T) *Dovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		bin = "/usr/sbin/dovecot"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
		}
		t.Skip("dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
	}
	// Short paths: Dovecot's sockets live in base_dir.
	dir, err := os.MkdirTemp("", "dc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // Dovecot's own users read its files
		t.Fatal(err)
	}
	dc := &Dovecot{IMAP: nettest.FreeAddr(t), POP3: nettest.FreeAddr(t), IMAPS: nettest.FreeAddr(t), POP3S: nettest.FreeAddr(t), maildir: filepath.Join(dir, "mail", "bounces"),
		uid: os.Getuid(), gid: os.Getgid()}
	loginUser := ""
	if dc.uid == 0 {
		// Dovecot gives no mail to root: the mail belongs to nobody.
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatal(err)
		}
		dc.uid, _ = strconv.Atoi(nobody.Uid)
		dc.gid, _ = strconv.Atoi(nobody.Gid)
	} else {
		me, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		loginUser = "default_login_user = " + me.Username + "\ndefault_internal_user = " + me.Username + "\n"
	}
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dc.maildir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dc.chown(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	dc.TLS = selfSigned(t, certFile, keyFile)
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <%[9]s
ssl_key = <%[10]s
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:%[1]s/mail/%%u
first_valid_uid = 1
%[6]s
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[2]d gid=%[3]d home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    port = %[4]s
  }
  inet_listener imaps {
    port = %[7]s
  }
}
service pop3-login {
  inet_listener pop3 {
    port = %[5]s
  }
  inet_listener pop3s {
    port = %[8]s
  }
}
pop3_uidl_format = %%08Xu%%08Xv
`, dir, dc.uid, dc.gid, port(dc.IMAP), port(dc.POP3), loginUser, port(dc.IMAPS), port(dc.POP3S), certFile, keyFile)
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte("bounces:{PLAIN}secret pass::::::\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot.log:\n%s", b)
		}
	})
	for _, a := range []string{dc.IMAP, dc.POP3, dc.IMAPS, dc.POP3S} {
		waitFor(t, "dovecot at "+a, func() bool {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	return dc
}

// chown gives the maildir to the mail user.
func (dc *Dovecot) chown(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		return
	}
	root := filepath.Dir(dc.maildir)
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, dc.uid, dc.gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Deliver puts a message in the INBOX as a mail server does: written in
// tmp, then renamed into new.
func (dc *Dovecot) Deliver(t *testing.T, raw string) {
	t.Helper()
	dc.seq++
	name := fmt.Sprintf("%d.M%dP%d.test", time.Now().Unix(), dc.seq, os.Getpid())
	tmp := filepath.Join(dc.maildir, "tmp", name)
	if err := os.WriteFile(tmp, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		if err := os.Chown(tmp, dc.uid, dc.gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(dc.maildir, "new", name)); err != nil {
		t.Fatal(err)
	}
}

// Count counts the messages of a folder ("" for the INBOX).
func (dc *Dovecot) Count(t *testing.T, folder string) int {
	t.Helper()
	dir := dc.maildir
	if folder != "" {
		dir = filepath.Join(dir, "."+folder)
	}
	n := 0
	for _, sub := range []string{"new", "cur"} {
		es, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		n += len(es)
	}
	return n
}

// Empty removes every message of every folder.
func (dc *Dovecot) Empty(t *testing.T) {
	t.Helper()
	for _, folder := range []string{"", "Processed"} {
		dir := dc.maildir
		if folder != "" {
			dir = filepath.Join(dir, "."+folder)
		}
		for _, sub := range []string{"new", "cur"} {
			es, _ := os.ReadDir(filepath.Join(dir, sub))
			for _, e := range es {
				os.Remove(filepath.Join(dir, sub, e.Name()))
			}
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// a TLS configuration that trusts it.
func selfSigned(t *testing.T, certFile, keyFile string) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{RootCAs: pool}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for giveUp := time.Now().Add(30 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(giveUp) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
