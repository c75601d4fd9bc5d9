package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/podrun/podrun/runner"
)

const selectFunction = `SELECT ` + functionColumns + ` FROM functions`

// insertFunctionSQL does nothing on an existing name, so RowsAffected says whether the function is new.
const insertFunctionSQL = `INSERT INTO functions (` + functionColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (name) DO NOTHING`

// replaceFunctionSQL leaves created_at alone: a replaced function keeps its creation time.
const replaceFunctionSQL = `UPDATE functions SET image = ?, command = ?, env = ?, memory = ?, cpus = ?, pids = ?,
	timeout = ?, warm = ?, max_concurrency = ?, max_output = ?, updated_at = ?,
	labels = ?, annotations = ?, secrets = ?, env_process = ?, req_memory = ?, req_cpus = ?, isolation = ?, egress = ?
	WHERE name = ?`

// PutFunction creates the function or replaces every field of an existing one but its creation time.
func (s *Store) PutFunction(ctx context.Context, f runner.Function) (created bool, err error) {
	if f.Name == "" {
		return false, fmt.Errorf("put function: %w", &runner.FieldError{Field: "name", Message: "is required"})
	}
	command, err := encodeJSON(f.Command, "[]")
	if err != nil {
		return false, fmt.Errorf("put function %s: %w", f.Name, err)
	}
	env, err := encodeJSON(f.Env, "{}")
	if err != nil {
		return false, fmt.Errorf("put function %s: %w", f.Name, err)
	}
	extra, err := functionExtras(f)
	if err != nil {
		return false, fmt.Errorf("put function %s: %w", f.Name, err)
	}
	// Both statements run in one write transaction, so no other writer can
	// insert or delete the name between the insert attempt and the update.
	err = s.write(ctx, func(tx *sql.Tx) error {
		insertArgs := append([]any{f.Name, f.Image, command, env, f.Limits.Memory, f.Limits.CPUs, f.Limits.PIDs, int64(f.Timeout),
			f.Warm, f.MaxConcurrency, f.MaxOutput, nanos(f.CreatedAt), nanos(f.UpdatedAt)}, extra...)
		res, err := tx.ExecContext(ctx, insertFunctionSQL, insertArgs...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			created = n == 1
			return err
		}
		replaceArgs := append([]any{f.Image, command, env, f.Limits.Memory, f.Limits.CPUs, f.Limits.PIDs, int64(f.Timeout),
			f.Warm, f.MaxConcurrency, f.MaxOutput, nanos(f.UpdatedAt)}, extra...)
		res, err = tx.ExecContext(ctx, replaceFunctionSQL, append(replaceArgs, f.Name)...)
		return foundIfChanged(res, err)
	})
	if err != nil {
		return false, fmt.Errorf("put function %s: %w", f.Name, err)
	}
	return created, nil
}

// functionExtras are the values of the columns migrations 0007 and 0008 added, in functionColumns' order.
func functionExtras(f runner.Function) ([]any, error) {
	labels, err := encodeJSON(f.Labels, "{}")
	if err != nil {
		return nil, err
	}
	annotations, err := encodeJSON(f.Annotations, "{}")
	if err != nil {
		return nil, err
	}
	secrets, err := encodeJSON(f.Secrets, "[]")
	if err != nil {
		return nil, err
	}
	egress, err := encodeJSON(f.Egress, "[]")
	if err != nil {
		return nil, err
	}
	return []any{labels, annotations, secrets, f.EnvProcess, f.Requests.Memory, f.Requests.CPUs, f.Isolation, egress}, nil
}

// Function returns one function by name from the read pool.
func (s *Store) Function(ctx context.Context, name string) (runner.Function, error) {
	f, err := scanFunction(s.functionByName.QueryRowContext(ctx, name))
	if errors.Is(err, sql.ErrNoRows) {
		err = runner.ErrNotFound
	}
	if err != nil {
		return runner.Function{}, fmt.Errorf("function %s: %w", name, err)
	}
	return f, nil
}

// Functions returns every function ordered by name; none is an empty, non-nil slice so JSON shows [].
func (s *Store) Functions(ctx context.Context) ([]runner.Function, error) {
	rows, err := s.reader.QueryContext(ctx, selectFunction+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("functions: %w", err)
	}
	functions, err := scanAll(rows, scanFunction)
	if err != nil {
		return nil, fmt.Errorf("functions: %w", err)
	}
	return functions, nil
}

// DeleteFunction removes a function; agents keep its name in their function column
// as a record of what they ran, so nothing references the row.
func (s *Store) DeleteFunction(ctx context.Context, name string) error {
	res, err := s.writer.ExecContext(ctx, `DELETE FROM functions WHERE name = ?`, name)
	if err := foundIfChanged(res, err); err != nil {
		return fmt.Errorf("delete function %s: %w", name, err)
	}
	return nil
}
