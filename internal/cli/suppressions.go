package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"simplesender"
	"simplesender/internal/app"
)

// runSuppressions lists, adds, removes, imports and exports the addresses
// a user's mailings (or, service-wide, everyone's) never go to.
func runSuppressions(ctx context.Context, e *Env, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	usageLine := "suppressions add|remove|import|export (--email OWNER | --service-wide) [flags] [ADDRESS...|FILE|-]"
	fs := newFlags("suppressions "+sub, usageLine, e)
	email := fs.String("email", "", "the e-mail address of the user whose list it is")
	wide := fs.Bool("service-wide", false, "the service-wide list, which every user's mailings respect")
	reason := fs.String("reason", "", "add, import: why (manual, unsubscribed, bounced, complained; default manual)")
	note := fs.String("note", "", "add, import: a note kept with each address")
	why := fs.String("why", "", "remove: the reason for taking the address off, kept in the audit log (required)")
	query := fs.String("query", "", "export: only addresses containing this text")
	if err := parse(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	ok := (*email != "") != *wide
	switch sub {
	case "add", "remove":
		ok = ok && len(rest) > 0 && (sub == "add" || *why != "")
	case "import":
		ok = ok && len(rest) == 1
	case "export":
		ok = ok && len(rest) == 0
	default:
		ok = false
	}
	if !ok {
		fs.Usage()
		return errUsage
	}
	var file io.ReadCloser
	if sub == "import" {
		var err error
		if file, err = openInput(rest[0], e.Stdin); err != nil {
			return err
		}
		defer file.Close()
	}
	srv, err := openTool(ctx, e)
	if err != nil {
		return err
	}
	defer srv.Close()
	a := srv.App
	in := app.SuppressionInput{Reason: simplesender.SuppressionReason(*reason), Note: *note, ServiceWide: *wide}
	q := app.SuppressionQuery{Owner: app.ServiceWide, Query: *query}
	if !*wide {
		u, err := a.UserByEmail(ctx, app.System, *email)
		if err != nil {
			return fmt.Errorf("%s: %s", *email, describe(err))
		}
		in.Owner, q.Owner = u.ID, u.ID
	}
	switch sub {
	case "add":
		for _, addr := range rest {
			in.Email = addr
			x, created, err := a.AddSuppression(ctx, app.System, in)
			switch {
			case err != nil:
				return fmt.Errorf("%s: %s", addr, describe(err))
			case created:
				fmt.Fprintf(e.Stdout, "suppressed %s (%s)\n", x.Email, x.Reason)
			default:
				fmt.Fprintf(e.Stdout, "already suppressed %s (%s, since %s)\n", x.Email, x.Reason, x.CreatedAt.UTC().Format("2006-01-02"))
			}
		}
	case "remove":
		for _, addr := range rest {
			x, err := findSuppression(ctx, a, q.Owner, addr)
			if err != nil {
				return err
			}
			if _, err := a.RemoveSuppression(ctx, app.System, x.ID, *why); err != nil {
				return fmt.Errorf("%s: %s", addr, describe(err))
			}
			fmt.Fprintf(e.Stdout, "removed %s (was %s)\n", x.Email, x.Reason)
		}
	case "import":
		res, err := a.ImportSuppressions(ctx, app.System, in, file)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "%d rows: %d suppressed, %d already were, %d invalid\n", res.Rows, res.Added, res.Already, res.Invalid)
		for _, re := range res.Errors {
			for field, key := range re.Fields {
				fmt.Fprintf(e.Stderr, "line %d (%s): %s: %s\n", re.Line, re.Email, field, englishMessage(key))
			}
		}
	case "export":
		n, err := a.ExportSuppressions(ctx, app.System, q, e.Stdout, app.ExportOptions{})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stderr, "%d addresses\n", n)
	}
	return nil
}

// findSuppression returns the entry for address on owner's list
// (app.ServiceWide: the service-wide one).
func findSuppression(ctx context.Context, a *app.App, owner int64, address string) (*simplesender.Suppression, error) {
	list, _, err := a.ListSuppressions(ctx, app.System, app.SuppressionQuery{Owner: owner, Query: address, Limit: 100})
	if err != nil {
		return nil, err
	}
	for _, x := range list {
		if strings.EqualFold(x.Email, strings.TrimSpace(address)) {
			return x, nil
		}
	}
	return nil, fmt.Errorf("%s is not on the list", address)
}
