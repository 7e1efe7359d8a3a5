package userns

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/atomicfile"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// AnnotationOriginal is the annotation in which hardened-runc before 0.x
// remembered, inside config.json, what it had rewritten. Anything in a
// spec is the caller's (Docker >= 24 --annotation, ctr run --annotation),
// so a spec carrying it is refused: the runtime's memory of a rewrite now
// lives in its own run directory (Rewrite), out of the caller's reach.
const AnnotationOriginal = "run.hardened-runc.userns.original"

// refuseOwnAnnotation denies a spec that carries a key only hardened-runc
// may write.
func refuseOwnAnnotation(s *specs.Spec) error {
	if _, ok := s.Annotations[AnnotationOriginal]; !ok {
		return nil
	}
	return modifier.Deny(ruleMode, fmt.Sprintf("annotation %s is hardened-runc's own record and is never accepted from a spec", AnnotationOriginal),
		"remove the annotation (a bundle rewritten by an older hardened-runc: restore its original config.json)")
}

// rewritesDirName holds one record per bundle hardened-runc rewrote. It is
// beside the userns state directory, not in it: every name in that one is
// a container ID's (and "rewrites" is a valid ID).
const rewritesDirName = "userns-rewrites"

// Rewrite is what hardened-runc remembers about a config.json it rewrote,
// so that the bundle can be run again: a bundle is often run more than once
// (plain runc users re-run the same config.json after delete), and the
// rewritten one points at an idmapped root in the run directory that is
// gone by then. It is stored in <RunDir>/userns-rewrites/, named by the
// bundle's path, and believed only while config.json still hashes to what
// hardened-runc wrote. The caller's original is then hardened again from
// scratch, so everything restored passes the whole pipeline again.
type Rewrite struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	// Hardened is the SHA-256 of the config.json hardened-runc wrote.
	Hardened string `json:"hardened"`
	// Original is the config.json as the caller gave it.
	Original []byte    `json:"original"`
	Written  time.Time `json:"written"`
}

func rewritePath(runDir, bundle string) string {
	return recordPath(runDir, cleanBundle(bundle))
}

// recordPath is rewritePath for a bundle path already cleaned (cleanBundle
// resolves symlinks: a create does it once).
func recordPath(runDir, clean string) string {
	sum := sha256.Sum256([]byte(clean))
	return filepath.Join(runDir, rewritesDirName, hex.EncodeToString(sum[:])+".json")
}

func cleanBundle(bundle string) string {
	if abs, err := filepath.Abs(bundle); err == nil {
		bundle = abs
	}
	if real, err := filepath.EvalSymlinks(bundle); err == nil {
		bundle = real
	}
	return bundle
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// RememberRewrite records that hardened-runc is about to replace the
// config.json of bundle (given as original) with hardened, for container
// id. It is called before the write: a record whose hash config.json
// never gets is simply never believed.
func RememberRewrite(runDir, id, bundle string, original, hardened []byte) error {
	clean := cleanBundle(bundle)
	w := Rewrite{ID: id, Bundle: clean, Hardened: digest(hardened), Original: original, Written: time.Now().UTC()}
	data, err := json.Marshal(w)
	if err != nil {
		return err
	}
	path := recordPath(runDir, clean)
	maybePrune(filepath.Dir(path), time.Now())
	// Not synced (docs/durability.md): the run directory is tmpfs on every
	// distribution, so a crash loses the record with or without a sync;
	// where it is not, a lost or torn record is not believed (see
	// RestoreRewrite) and config.json is hardened as it is.
	if err := atomicfile.WriteUnsynced(path, data, 0o600, 0o700); err != nil {
		return fmt.Errorf("remember rewrite of %s: %w", bundle, err)
	}
	return nil
}

// RestoreRewrite returns the caller's original config.json when current
// (the bytes config.json holds now) is exactly what hardened-runc wrote for
// bundle. Anything else, including a config.json that merely looks
// rewritten, is the caller's and is hardened as it is.
func RestoreRewrite(runDir, bundle string, current []byte) (Rewrite, bool, error) {
	clean := cleanBundle(bundle)
	data, err := os.ReadFile(recordPath(runDir, clean))
	if errors.Is(err, os.ErrNotExist) {
		return Rewrite{}, false, nil
	}
	if err != nil {
		return Rewrite{}, false, fmt.Errorf("rewrite record of %s: %w", bundle, err)
	}
	var w Rewrite
	if err := json.Unmarshal(data, &w); err != nil {
		// A record a crash left torn (it is written unsynced) proves
		// nothing: config.json is then the caller's, hardened as it is.
		return Rewrite{}, false, nil
	}
	if w.Bundle != clean || w.Hardened != digest(current) || len(w.Original) == 0 {
		return Rewrite{}, false, nil
	}
	return w, true, nil
}

// pruneEvery is how often creates walk the records to drop those of
// removed bundles. The walk opens every record: with a few hundred
// containers on a node it costs milliseconds, too much for every create.
const pruneEvery = time.Minute

// pruneMarker's modification time is when the records were last walked;
// pruneRewrites skips it (a dot file).
const pruneMarker = ".pruned"

// maybePrune runs pruneRewrites when the last walk is older than
// pruneEvery (or in the future: a clock that was set back), so a create
// pays one stat for it and one create a minute pays the walk.
func maybePrune(dir string, now time.Time) {
	marker := filepath.Join(dir, pruneMarker)
	if st, err := os.Stat(marker); err == nil {
		if age := now.Sub(st.ModTime()); age >= 0 && age < pruneEvery {
			return
		}
	} else if err := os.WriteFile(marker, nil, 0o600); err != nil {
		return
	}
	if err := os.Chtimes(marker, now, now); err != nil {
		return
	}
	pruneRewrites(dir)
}

// pruneRewrites drops records of bundles whose config.json is gone (the
// engine removed the bundle), so the directory does not grow with every
// container an engine ever ran. Best effort, and cheap: only the head of
// each record (where the bundle path is) is read.
func pruneRewrites(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		// Temporary files of a concurrent RememberRewrite are not records.
		if strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		bundle, err := recordBundle(p)
		if err != nil {
			_ = os.Remove(p)
			continue
		}
		if _, err := os.Stat(filepath.Join(bundle, "config.json")); errors.Is(err, os.ErrNotExist) {
			_ = os.Remove(p)
		}
	}
}

// recordBundle reads the bundle path of a record without decoding the
// original config.json that follows it.
func recordBundle(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	if _, err := dec.Token(); err != nil { // {
		return "", err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", err
		}
		if k == "bundle" {
			var b string
			if err := dec.Decode(&b); err != nil || b == "" {
				return "", fmt.Errorf("%s: bad bundle: %v", path, err)
			}
			return b, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("%s: no bundle", path)
}
