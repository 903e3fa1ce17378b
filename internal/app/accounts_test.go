package app_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"simplesender"
	"simplesender/internal/app"
	"simplesender/internal/app/apptest"
	"simplesender/internal/mailer"
	"simplesender/internal/store/storetest"
)

var ctx = context.Background()

func reg(email string) app.Registration {
	return app.Registration{Email: email, Password: "purple-kettle-42", Profile: simplesender.Profile{Name: "Ann"}}
}

// TestAccountFlowOverSMTP walks register, confirm, log in, reset through a
// real SMTP server that first refuses, reading the links out of the
// delivered messages.
func TestAccountFlowOverSMTP(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, url string) {
		srv := apptest.NewSMTPServer(t)
		tr, err := mailer.NewSMTP(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		env := apptest.New(t, url, apptest.Options{Transport: tr})
		a := env.App
		srv.FailNext(1) // the first attempt is refused with 451: the job retries
		if err := a.Register(ctx, reg("ann@example.com"), "1.1.1.1"); err != nil {
			t.Fatal(err)
		}
		msgs := waitSMTP(t, srv, "ann@example.com", 1)
		token := apptest.LinkToken(t, msgs[0].Body, "/confirm?")
		if !strings.HasPrefix(msgs[0].Body, "Hello!") || strings.Contains(msgs[0].Body, "Ann") {
			t.Errorf("body (the unconfirmed name must not be in it): %q", msgs[0].Body)
		}
		if _, _, err := a.Login(ctx, "ann@example.com", "purple-kettle-42", "1.1.1.1", ""); !simplesender.IsKind(err, simplesender.KindUnauthenticated) {
			t.Fatalf("pending login: %v", err)
		}
		if u, err := a.Confirm(ctx, token, "1.1.1.1"); err != nil || u.Status() != simplesender.StatusActive {
			t.Fatalf("confirm: %v", err)
		}
		raw, _, err := a.Login(ctx, "ann@example.com", "purple-kettle-42", "1.1.1.1", "")
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := a.CreateAPIToken(ctx, &app.Actor{User: mustUser(t, env, "ann@example.com")}, nil, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.RequestPasswordReset(ctx, "ANN@example.com", "en", "1.1.1.1"); err != nil {
			t.Fatal(err)
		}
		msgs = waitSMTP(t, srv, "ann@example.com", 2)
		reset := apptest.LinkToken(t, msgs[1].Body, "/password/reset?")
		if _, err := a.ResetPassword(ctx, reset, "ann@example.com1", "1.1.1.1"); !simplesender.IsKind(err, simplesender.KindInvalid) {
			t.Fatalf("password like the address accepted: %v", err)
		}
		if _, err := a.ResetPassword(ctx, reset, "brand-new-secret-7", "1.1.1.1"); err != nil {
			t.Fatalf("reset after a refused password (the token must survive it): %v", err)
		}
		if _, err := a.ResetPassword(ctx, reset, "another-secret-8", "1.1.1.1"); !simplesender.IsKind(err, simplesender.KindInvalid) {
			t.Fatalf("reset token used twice: %v", err)
		}
		if _, err := a.SessionUser(ctx, raw); err == nil {
			t.Fatal("session survived the password reset")
		}
		if _, err := a.TokenUser(ctx, tok); err == nil {
			t.Fatal("API token survived the password reset")
		}
		if _, _, err := a.Login(ctx, "ann@example.com", "brand-new-secret-7", "1.1.1.1", ""); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
	})
}

func waitSMTP(t *testing.T, srv *apptest.SMTPServer, to string, n int) []apptest.Email {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := srv.Messages(to); len(m) >= n {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no e-mail #%d to %s", n, to)
	return nil
}

func mustUser(t *testing.T, env *apptest.Env, email string) *simplesender.User {
	t.Helper()
	u, err := env.DB.Store().UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestConfirmationTokenExpiresAfter48Hours(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		if err := env.App.Register(ctx, reg("late@example.com"), "1.1.1.1"); err != nil {
			t.Fatal(err)
		}
		token := apptest.LinkToken(t, env.WaitEmail(t, "late@example.com", 1).Body, "/confirm?")
		now := time.Now().Add(48*time.Hour + time.Minute)
		env.DB.SetClock(func() time.Time { return now })
		if _, err := env.App.Confirm(ctx, token, "1.1.1.1"); !simplesender.IsKind(err, simplesender.KindInvalid) {
			t.Fatalf("confirmed with a 48-hour-old link: %v", err)
		}
		// Asking again gives a fresh link that works.
		env.DB.SetClock(time.Now)
		if err := env.App.ResendConfirmation(ctx, "late@example.com", "en", "1.1.1.1"); err != nil {
			t.Fatal(err)
		}
		fresh := apptest.LinkToken(t, env.WaitEmail(t, "late@example.com", 2).Body, "/confirm?")
		if _, err := env.App.Confirm(ctx, fresh, "1.1.1.1"); err != nil {
			t.Fatalf("fresh link: %v", err)
		}
	})
}

func TestTokensAreStoredOnlyAsHashes(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		u := env.User(t, "h@example.com", simplesender.RoleUser, simplesender.StatusActive)
		raw, _, err := env.App.CreateAPIToken(ctx, &app.Actor{User: u}, nil, "x")
		if err != nil {
			t.Fatal(err)
		}
		sess, _, err := env.App.Login(ctx, u.Email, apptest.Password, "1.1.1.1", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := env.App.Register(ctx, reg("p@example.com"), "1.1.1.2"); err != nil {
			t.Fatal(err)
		}
		confirm := apptest.LinkToken(t, env.WaitEmail(t, "p@example.com", 1).Body, "/confirm?")
		// No table may hold any raw token.
		for _, q := range []string{"SELECT token_hash FROM api_tokens", "SELECT token_hash FROM one_time_tokens",
			"SELECT id_hash FROM sessions", "SELECT CAST(args AS TEXT) FROM river_job"} {
			rows, err := env.DB.Writer().Query(q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var v string
				rows.Scan(&v)
				for _, secret := range []string{raw, sess, confirm} {
					if strings.Contains(v, secret) {
						t.Errorf("%s holds a raw token", q)
					}
				}
			}
			rows.Close()
		}
	})
}

func TestBlockedUserStaysBlocked(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a := env.App
		mgr := &app.Actor{User: env.User(t, "m@example.com", simplesender.RoleManager, simplesender.StatusActive)}
		if err := a.Register(ctx, reg("b@example.com"), "1.1.1.1"); err != nil {
			t.Fatal(err)
		}
		confirm := apptest.LinkToken(t, env.WaitEmail(t, "b@example.com", 1).Body, "/confirm?")
		u := mustUser(t, env, "b@example.com")
		if _, err := a.SetBlocked(ctx, mgr, u.ID, true); err != nil {
			t.Fatal(err)
		}
		// Neither the confirmation link nor a reset unblocks.
		if got, err := a.Confirm(ctx, confirm, "1.1.1.1"); err != nil || got.Status() != simplesender.StatusBlocked {
			t.Fatalf("after confirm: %v %v", got.Status(), err)
		}
		if err := a.RequestPasswordReset(ctx, "b@example.com", "en", "1.1.1.1"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if n := len(env.Emails(t, "b@example.com")); n != 1 {
			t.Fatalf("a blocked account got a reset e-mail (%d e-mails)", n)
		}
		if _, _, err := a.Login(ctx, "b@example.com", "purple-kettle-42", "1.1.1.1", ""); !simplesender.IsKind(err, simplesender.KindUnauthenticated) {
			t.Fatalf("blocked login: %v", err)
		}
		if got, err := a.SetBlocked(ctx, mgr, u.ID, false); err != nil || got.Status() != simplesender.StatusActive {
			t.Fatalf("unblock: %v %v", got, err)
		}
	})
}

func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	// The clock is read by background jobs too: guard it.
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	env := apptest.NewSQLite(t, apptest.Options{Deps: func(d *app.Deps) {
		d.SessionIdle = time.Hour
		d.SessionMax = 3 * time.Hour
		d.Now = clock
	}})
	u := env.User(t, "s@example.com", simplesender.RoleUser, simplesender.StatusActive)
	raw, _, err := env.App.Login(ctx, u.Email, apptest.Password, "1.1.1.1", "")
	if err != nil {
		t.Fatal(err)
	}
	// Active every 50 minutes: alive until the absolute end.
	for i := 1; i <= 3; i++ {
		advance(50 * time.Minute)
		if _, err := env.App.SessionUser(ctx, raw); err != nil {
			t.Fatalf("session ended after %d active periods: %v", i, err)
		}
	}
	advance(40 * time.Minute) // 3h10m after login
	if _, err := env.App.SessionUser(ctx, raw); err == nil {
		t.Fatal("session outlived its absolute end")
	}
	raw2, _, _ := env.App.Login(ctx, u.Email, apptest.Password, "1.1.1.1", "")
	advance(61 * time.Minute)
	if _, err := env.App.SessionUser(ctx, raw2); err == nil {
		t.Fatal("idle session still works")
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		a := env.App
		user := &app.Actor{User: env.User(t, "u@example.com", simplesender.RoleUser, simplesender.StatusActive)}
		mgr := &app.Actor{User: env.User(t, "m@example.com", simplesender.RoleManager, simplesender.StatusActive)}
		adm := &app.Actor{User: env.User(t, "a@example.com", simplesender.RoleAdmin, simplesender.StatusActive)}
		if _, err := a.ListUsers(ctx, user, storeFilter()); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("user listed users: %v", err)
		}
		if _, err := a.SetBlocked(ctx, mgr, adm.User.ID, true); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("manager blocked an admin: %v", err)
		}
		if _, err := a.SetRole(ctx, mgr, user.User.ID, simplesender.RoleAdmin); !simplesender.IsKind(err, simplesender.KindForbidden) {
			t.Errorf("manager assigned a role: %v", err)
		}
		if u, err := a.SetRole(ctx, adm, user.User.ID, simplesender.RoleManager); err != nil || u.Role != simplesender.RoleManager {
			t.Errorf("admin could not assign a role: %v", err)
		}
		if _, err := a.SetRole(ctx, adm, user.User.ID, "boss"); !simplesender.IsKind(err, simplesender.KindInvalid) {
			t.Errorf("unknown role accepted: %v", err)
		}
		if _, err := a.GetUser(ctx, user, mgr.User.ID); !simplesender.IsKind(err, simplesender.KindNotFound) {
			t.Errorf("user read another user: %v", err)
		}
		ev, err := a.UserAudit(ctx, adm, user.User.ID)
		if err != nil || len(ev) != 1 || ev[0].Action != "user.role" || ev[0].ActorEmail != "a@example.com" {
			t.Errorf("role change not recorded: %+v %v", ev, err)
		}
	})
}

func TestCreateAdminNeedsAGoodPassword(t *testing.T) {
	t.Parallel()
	env := apptest.NewSQLite(t)
	if _, _, err := env.App.CreateAdmin(ctx, app.System, "root@example.com", ""); !simplesender.IsKind(err, simplesender.KindInvalid) {
		t.Fatalf("admin without a password: %v", err)
	}
	if _, _, err := env.App.CreateAdmin(ctx, app.System, "root@example.com", "password"); !simplesender.IsKind(err, simplesender.KindInvalid) {
		t.Fatalf("admin with a common password: %v", err)
	}
	u, created, err := env.App.CreateAdmin(ctx, app.System, "root@example.com", "long-unusual-phrase")
	if err != nil || !created || u.Role != simplesender.RoleAdmin || u.Status() != simplesender.StatusActive {
		t.Fatalf("create admin: %+v %v", u, err)
	}
	u2 := env.User(t, "later@example.com", simplesender.RoleUser, simplesender.StatusPending)
	u, created, err = env.App.CreateAdmin(ctx, app.System, "later@example.com", "")
	if err != nil || created || u.ID != u2.ID || u.Role != simplesender.RoleAdmin {
		t.Fatalf("promote: %+v %v", u, err)
	}
}

func TestConcurrentRegistrationsOfOneAddress(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, env *apptest.Env) {
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- env.App.Register(ctx, reg("race@example.com"), "10.0.0."+string(rune('1'+i)))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("register: %v", err)
			}
		}
		page, _ := env.App.ListUsers(ctx, app.System, storeFilter())
		if page.Total != 1 {
			t.Fatalf("%d accounts for one address", page.Total)
		}
	})
}
