package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"simplesender"
)

const identityColumns = `i.id, i.owner_id, u.email, i.name, i.email, i.reply_to, i.is_default, i.created_at, i.updated_at
	FROM sender_identities i JOIN users u ON u.id = i.owner_id `

func scanIdentity(row scanner) (*simplesender.Identity, error) {
	var i simplesender.Identity
	err := row.Scan(&i.ID, &i.OwnerID, &i.OwnerEmail, &i.Name, &i.Email, &i.ReplyTo, &i.Default, &i.CreatedAt, &i.UpdatedAt)
	i.CreatedAt, i.UpdatedAt = i.CreatedAt.UTC(), i.UpdatedAt.UTC()
	return &i, err
}

// ListIdentities returns owner's sender identities (everyone's for owner 0),
// by owner, the default first, then oldest first.
func (s *Store) ListIdentities(ctx context.Context, owner int64) ([]*simplesender.Identity, error) {
	mine, args := ownedBy("i.owner_id", owner)
	return queryList(ctx, s, "list identities", scanIdentity,
		"SELECT "+identityColumns+"WHERE "+mine+" ORDER BY u.email, i.is_default DESC, i.id", args...)
}

// IdentityByID returns owner's identity id (anyone's for owner 0).
// Errors: NotFound.
func (s *Store) IdentityByID(ctx context.Context, owner, id int64) (*simplesender.Identity, error) {
	mine, args := ownedBy("i.owner_id", owner)
	i, err := scanIdentity(s.queryRow(ctx, "SELECT "+identityColumns+"WHERE i.id = ? AND "+mine, append([]any{id}, args...)...))
	return i, s.wrap(err, "get identity")
}

// CreateIdentity inserts i and sets its ID and times. The owner's first
// identity becomes the default; a new default replaces the old one. Run it
// in a transaction.
func (s *Store) CreateIdentity(ctx context.Context, i *simplesender.Identity) error {
	var n int
	if err := s.w.QueryRowContext(ctx, s.db.dialect.rebind("SELECT count(*) FROM sender_identities WHERE owner_id = ?"), i.OwnerID).Scan(&n); err != nil {
		return s.wrap(err, "count identities")
	}
	if n == 0 {
		i.Default = true
	}
	if err := s.clearDefault(ctx, i); err != nil {
		return err
	}
	now := s.Now()
	i.CreatedAt, i.UpdatedAt = now, now
	err := s.writeRow(ctx, `INSERT INTO sender_identities (owner_id, name, email, reply_to, is_default, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, i.OwnerID, i.Name, i.Email, i.ReplyTo, i.Default, now, now).Scan(&i.ID)
	return s.touch(ctx, s.wrap(err, "create identity"), i.OwnerID)
}

// UpdateIdentity saves the name, addresses and default mark of owner's
// identity i. Errors: NotFound. Run it in a transaction.
func (s *Store) UpdateIdentity(ctx context.Context, owner int64, i *simplesender.Identity) error {
	if err := s.clearDefault(ctx, i); err != nil {
		return err
	}
	i.UpdatedAt = s.Now()
	res, err := s.exec(ctx, `UPDATE sender_identities SET name = ?, email = ?, reply_to = ?, is_default = ?, updated_at = ?
		WHERE id = ? AND owner_id = ?`, i.Name, i.Email, i.ReplyTo, i.Default, i.UpdatedAt, i.ID, owner)
	return s.touch(ctx, s.affected(res, err, "update identity"), owner)
}

// clearDefault drops the default mark of i's owner's other identities
// when i is to be the default.
func (s *Store) clearDefault(ctx context.Context, i *simplesender.Identity) error {
	if !i.Default {
		return nil
	}
	_, err := s.exec(ctx, "UPDATE sender_identities SET is_default = FALSE WHERE owner_id = ? AND id <> ? AND is_default",
		i.OwnerID, i.ID)
	return s.wrap(err, "clear default identity")
}

// DeleteIdentity deletes owner's identity id; mailings that named it send
// with the owner's default again. Errors: NotFound.
func (s *Store) DeleteIdentity(ctx context.Context, owner, id int64) error {
	res, err := s.exec(ctx, "DELETE FROM sender_identities WHERE id = ? AND owner_id = ?", id, owner)
	return s.touch(ctx, s.affected(res, err, "delete identity"), owner)
}

// SetMailingIdentity makes owner's mailing id send with identity (0: the
// owner's default). The caller checks that the identity is the owner's.
// Errors: NotFound.
func (s *Store) SetMailingIdentity(ctx context.Context, owner, id, identity int64) error {
	var v any
	if identity != 0 {
		v = identity
	}
	res, err := s.exec(ctx, "UPDATE mailings SET identity_id = ? WHERE id = ? AND owner_id = ?", v, id, owner)
	return s.touch(ctx, s.affected(res, err, "set mailing identity"), owner)
}

// MailingIdentity returns the identity mailing id sends with: the one it
// names, else its owner's default; nil when the owner has none (the
// service's address).
func (s *Store) MailingIdentity(ctx context.Context, id int64) (*simplesender.Identity, error) {
	i, err := scanIdentity(s.queryRow(ctx, "SELECT "+identityColumns+`JOIN mailings m ON m.owner_id = i.owner_id
		WHERE m.id = ? AND (i.id = m.identity_id OR (m.identity_id IS NULL AND i.is_default))`, id))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return i, s.wrap(err, "get mailing identity")
}

// MailingIdentityID returns the identity mailing id names (0: none, the
// owner's default).
func (s *Store) MailingIdentityID(ctx context.Context, id int64) (int64, error) {
	var v sql.NullInt64
	err := s.queryRow(ctx, "SELECT identity_id FROM mailings WHERE id = ?", id).Scan(&v)
	return v.Int64, s.wrap(err, "get mailing identity")
}

// runSender fixes the From and Reply-To of run r: those of identity when
// set, else of its owner's default identity, else none (the service's
// address).
func (s *Store) runSender(ctx context.Context, r *simplesender.Run, identity sql.NullInt64) error {
	q := "SELECT name, email, reply_to FROM sender_identities WHERE owner_id = ? AND is_default"
	args := []any{r.OwnerID}
	if identity.Valid {
		q, args = "SELECT name, email, reply_to FROM sender_identities WHERE id = ?", []any{identity.Int64}
	}
	err := s.w.QueryRowContext(ctx, s.db.dialect.rebind(q), args...).Scan(&r.FromName, &r.FromEmail, &r.ReplyTo)
	if err == sql.ErrNoRows {
		return nil
	}
	return s.wrap(err, "read run sender")
}

const domainColumns = `d.id, d.owner_id, u.email, d.domain, d.verified_at, d.created_at
	FROM sender_domains d JOIN users u ON u.id = d.owner_id `

func scanDomain(row scanner) (*simplesender.SenderDomain, error) {
	var d simplesender.SenderDomain
	var verified sql.NullTime
	err := row.Scan(&d.ID, &d.OwnerID, &d.OwnerEmail, &d.Domain, &verified, &d.CreatedAt)
	d.VerifiedAt, d.CreatedAt = nullTime(verified), d.CreatedAt.UTC()
	return &d, err
}

// ListDomains returns owner's sender domains (everyone's for owner 0) with
// their keys, by owner and name.
func (s *Store) ListDomains(ctx context.Context, owner int64) ([]*simplesender.SenderDomain, error) {
	mine, args := ownedBy("d.owner_id", owner)
	out, err := queryList(ctx, s, "list domains", scanDomain, "SELECT "+domainColumns+"WHERE "+mine+" ORDER BY u.email, d.domain", args...)
	if err != nil {
		return nil, err
	}
	for _, d := range out {
		if d.Keys, err = s.domainKeys(ctx, d.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DomainByID returns owner's domain id (anyone's for owner 0) with its
// keys. Errors: NotFound.
func (s *Store) DomainByID(ctx context.Context, owner, id int64) (*simplesender.SenderDomain, error) {
	mine, args := ownedBy("d.owner_id", owner)
	d, err := scanDomain(s.queryRow(ctx, "SELECT "+domainColumns+"WHERE d.id = ? AND "+mine, append([]any{id}, args...)...))
	if err != nil {
		return nil, s.wrap(err, "get domain")
	}
	d.Keys, err = s.domainKeys(ctx, d.ID)
	return d, err
}

// CreateDomain inserts d (unverified) and sets its ID. Errors: Conflict
// when the owner already has it.
func (s *Store) CreateDomain(ctx context.Context, d *simplesender.SenderDomain) error {
	d.CreatedAt = s.Now()
	err := s.writeRow(ctx, "INSERT INTO sender_domains (owner_id, domain, created_at) VALUES (?, ?, ?) RETURNING id",
		d.OwnerID, d.Domain, d.CreatedAt).Scan(&d.ID)
	return s.touch(ctx, s.wrap(err, "create domain"), d.OwnerID)
}

// DeleteDomain deletes owner's domain id and its keys. Errors: NotFound.
func (s *Store) DeleteDomain(ctx context.Context, owner, id int64) error {
	res, err := s.exec(ctx, "DELETE FROM sender_domains WHERE id = ? AND owner_id = ?", id, owner)
	return s.touch(ctx, s.affected(res, err, "delete domain"), owner)
}

// MarkDomainVerified records that owner's domain id was found verified at.
// Errors: NotFound.
func (s *Store) MarkDomainVerified(ctx context.Context, owner, id int64, at time.Time) error {
	res, err := s.exec(ctx, "UPDATE sender_domains SET verified_at = ? WHERE id = ? AND owner_id = ?", at, id, owner)
	return s.touch(ctx, s.affected(res, err, "verify domain"), owner)
}

// DomainVerified reports whether owner verified domain.
func (s *Store) DomainVerified(ctx context.Context, owner int64, domain string) (bool, error) {
	var n int
	err := s.queryRow(ctx, "SELECT count(*) FROM sender_domains WHERE owner_id = ? AND domain = ? AND verified_at IS NOT NULL",
		owner, strings.ToLower(domain)).Scan(&n)
	return n > 0, s.wrap(err, "check domain")
}

const keyColumns = "id, domain_id, selector, algorithm, private_key, public_key, state, created_at FROM dkim_keys "

func scanKey(row scanner) (*simplesender.DKIMKey, error) {
	var k simplesender.DKIMKey
	err := row.Scan(&k.ID, &k.DomainID, &k.Selector, &k.Algorithm, &k.PrivateKey, &k.PublicKey, &k.State, &k.CreatedAt)
	k.CreatedAt = k.CreatedAt.UTC()
	return &k, err
}

func (s *Store) domainKeys(ctx context.Context, domainID int64) ([]*simplesender.DKIMKey, error) {
	return queryList(ctx, s, "list keys", scanKey, "SELECT "+keyColumns+"WHERE domain_id = ? ORDER BY id", domainID)
}

// AddDKIMKeys inserts keys (of one domain) and sets their IDs. Errors:
// Conflict for a selector the domain has.
func (s *Store) AddDKIMKeys(ctx context.Context, owner int64, keys ...*simplesender.DKIMKey) error {
	now := s.Now()
	for _, k := range keys {
		k.CreatedAt = now
		err := s.writeRow(ctx, `INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, public_key, state, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, k.DomainID, k.Selector, k.Algorithm, k.PrivateKey, k.PublicKey, k.State, now).Scan(&k.ID)
		if err != nil {
			return s.wrap(err, "add key")
		}
	}
	return s.touch(ctx, nil, owner)
}

// SetKeyState moves domain domainID's keys in state from to state to, and
// returns how many moved.
func (s *Store) SetKeyState(ctx context.Context, owner, domainID int64, from, to string) (int64, error) {
	res, err := s.exec(ctx, "UPDATE dkim_keys SET state = ? WHERE domain_id = ? AND state = ?", to, domainID, from)
	if err != nil {
		return 0, s.wrap(err, "set key state")
	}
	n, err := res.RowsAffected()
	return n, s.touch(ctx, s.wrap(err, "set key state"), owner)
}

// DeleteKeys deletes domain domainID's keys in state and returns how many.
func (s *Store) DeleteKeys(ctx context.Context, owner, domainID int64, state string) (int64, error) {
	res, err := s.exec(ctx, "DELETE FROM dkim_keys WHERE domain_id = ? AND state = ?", domainID, state)
	if err != nil {
		return 0, s.wrap(err, "delete keys")
	}
	n, err := res.RowsAffected()
	return n, s.touch(ctx, s.wrap(err, "delete keys"), owner)
}

// SigningKeys returns the active DKIM keys of owner's verified domain
// (none when it is not verified).
func (s *Store) SigningKeys(ctx context.Context, owner int64, domain string) ([]*simplesender.DKIMKey, error) {
	return queryList(ctx, s, "signing keys", scanKey, "SELECT "+keyColumns+`WHERE state = 'active' AND domain_id IN
		(SELECT id FROM sender_domains WHERE owner_id = ? AND domain = ? AND verified_at IS NOT NULL) ORDER BY id`,
		owner, strings.ToLower(domain))
}

// DomainRules returns the admins' rules on domains, by name.
func (s *Store) DomainRules(ctx context.Context) ([]*simplesender.DomainRule, error) {
	return queryList(ctx, s, "list domain rules", func(row scanner) (*simplesender.DomainRule, error) {
		var r simplesender.DomainRule
		var by sql.NullString
		err := row.Scan(&r.Domain, &r.Allowed, &by, &r.ChangedAt)
		r.ChangedBy, r.ChangedAt = by.String, r.ChangedAt.UTC()
		return &r, err
	}, "SELECT r.domain, r.allowed, u.email, r.changed_at FROM domain_rules r LEFT JOIN users u ON u.id = r.changed_by ORDER BY r.domain")
}

// DomainRule returns the admins' rule on domain: allowed, and whether
// there is one.
func (s *Store) DomainRule(ctx context.Context, domain string) (allowed, found bool, err error) {
	err = s.queryRow(ctx, "SELECT allowed FROM domain_rules WHERE domain = ?", strings.ToLower(domain)).Scan(&allowed)
	if err == sql.ErrNoRows {
		return false, false, nil
	}
	return allowed, err == nil, s.wrap(err, "get domain rule")
}

// SetDomainRule allows (or forbids) domain for everyone, as admin by decided.
func (s *Store) SetDomainRule(ctx context.Context, domain string, allowed bool, by int64) error {
	_, err := s.exec(ctx, `INSERT INTO domain_rules (domain, allowed, changed_by, changed_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (domain) DO UPDATE SET allowed = excluded.allowed, changed_by = excluded.changed_by,
		changed_at = excluded.changed_at`, strings.ToLower(domain), allowed, by, s.Now())
	return s.touch(ctx, s.wrap(err, "set domain rule"))
}

// DeleteDomainRule drops the admins' rule on domain (the configured default
// applies again). Errors: NotFound.
func (s *Store) DeleteDomainRule(ctx context.Context, domain string) error {
	res, err := s.exec(ctx, "DELETE FROM domain_rules WHERE domain = ?", strings.ToLower(domain))
	return s.touch(ctx, s.affected(res, err, "delete domain rule"))
}
