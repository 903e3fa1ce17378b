package store

import (
	"context"
	"database/sql"

	"simplesender"
)

// adminChangeTables are the tables whose rows carry an admin's mark, by the
// target type that names them.
var adminChangeTables = map[string]string{"recipient": "recipients", "message": "messages", "mailing": "mailings"}

// MarkAdminChange records that admin changed object id of type target
// ("recipient", "message" or "mailing") now, on behalf of its owner.
// Errors: NotFound (no such object or type).
func (s *Store) MarkAdminChange(ctx context.Context, target string, id, admin int64) error {
	table, ok := adminChangeTables[target]
	if !ok {
		return simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	res, err := s.exec(ctx, `UPDATE `+table+` SET admin_changed_by = ?, admin_changed_at = ? WHERE id = ?`, admin, s.Now(), id)
	return s.affected(res, err, "mark admin change")
}

// AdminChange returns the last admin change of object id of type target, or
// nil when no admin changed it. Errors: NotFound (no such object or type).
func (s *Store) AdminChange(ctx context.Context, target string, id int64) (*simplesender.AdminChange, error) {
	table, ok := adminChangeTables[target]
	if !ok {
		return nil, simplesender.E(simplesender.KindNotFound, "error.not_found")
	}
	var by sql.NullInt64
	var email sql.NullString
	var at sql.NullTime
	err := s.queryRow(ctx, `SELECT t.admin_changed_by, u.email, t.admin_changed_at FROM `+table+` t
		LEFT JOIN users u ON u.id = t.admin_changed_by WHERE t.id = ?`, id).Scan(&by, &email, &at)
	if err != nil {
		return nil, s.wrap(err, "read admin change")
	}
	if !at.Valid {
		return nil, nil
	}
	return &simplesender.AdminChange{AdminID: by.Int64, AdminEmail: email.String, At: at.Time.UTC()}, nil
}
