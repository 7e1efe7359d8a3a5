package policy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// decodeStrict decodes TOML into v, rejecting unknown keys, and reports
// errors as "file:line:col: field: problem" so an admin can find a typo.
func decodeStrict(file string, data []byte, v any) error {
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.EnableUnmarshalerInterface() // ControlMode also reads legacy booleans
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var derr *toml.DecodeError
	if errors.As(err, &derr) {
		row, col := derr.Position()
		key := strings.Join(derr.Key(), ".")
		if key != "" {
			return fmt.Errorf("%s:%d:%d: field %s: %s", file, row, col, key, derr.Error())
		}
		return fmt.Errorf("%s:%d:%d: %s", file, row, col, derr.Error())
	}
	var serr *toml.StrictMissingError
	if errors.As(err, &serr) && len(serr.Errors) > 0 {
		e := serr.Errors[0]
		row, col := e.Position()
		return fmt.Errorf("%s:%d:%d: unknown field %s (check the spelling; see `hardenctl profile show default` for every field)",
			file, row, col, strings.Join(e.Key(), "."))
	}
	return fmt.Errorf("%s: %w", file, err)
}
