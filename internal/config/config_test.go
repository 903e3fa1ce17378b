package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"simplesender/internal/config"
)

func TestDefaultsDotEnvAndSecret(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, ".env")
	os.WriteFile(envFile, []byte("# comment\nSIMPLESENDER_ADDR=127.0.0.1:9000\nexport SIMPLESENDER_MAIL_FROM=\"Рассылка <news@example.com>\"\n"), 0o600)
	env := map[string]string{"SIMPLESENDER_DATA_DIR": filepath.Join(dir, "data")}
	c, err := config.Load(func(k string) string { return env[k] }, envFile)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.BaseURL.String() != "http://127.0.0.1:9000" {
		t.Errorf(".env not applied: addr %s, base %s", c.Addr, c.BaseURL)
	}
	if c.MailFrom.Name != "Рассылка" || c.MailFrom.Address != "news@example.com" {
		t.Errorf("mail from = %+v", c.MailFrom)
	}
	if c.Engine() != "sqlite" || c.DatabaseURL != "sqlite:"+filepath.Join(dir, "data", "simplesender.db") {
		t.Errorf("database = %s", c.DatabaseURL)
	}
	if c.SecureCookies() {
		t.Error("secure cookies on http")
	}
	// The generated secret is kept: a second start reads the same one.
	c2, err := config.Load(func(k string) string { return env[k] }, envFile)
	if err != nil || string(c2.SecretKey) != string(c.SecretKey) || len(c.SecretKey) < 32 {
		t.Fatalf("secret not stable across starts: %v", err)
	}
	// The environment wins over .env.
	env["SIMPLESENDER_ADDR"] = "127.0.0.1:9100"
	env["SIMPLESENDER_BASE_URL"] = "https://mail.example.com/"
	c3, _ := config.Load(func(k string) string { return env[k] }, envFile)
	if c3.Addr != "127.0.0.1:9100" || !c3.SecureCookies() || c3.BaseURL.String() != "https://mail.example.com" {
		t.Errorf("env over .env: %s %s", c3.Addr, c3.BaseURL)
	}
}
