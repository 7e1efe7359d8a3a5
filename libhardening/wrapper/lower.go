package wrapper

import (
	"os"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// ErrLowerIsSelf is returned when the configured lower runtime resolves to
// hardened-runc itself: exec'ing it would loop forever.
var ErrLowerIsSelf = lower.ErrIsSelf

// resolveLower is the configured lower runtime's binary (package lower),
// with errors that name the config file in use.
func resolveLower(configured, self string) (string, error) {
	return lower.Resolve(configured, self, configHint())
}

// runtimeName is the configured lower runtime, "runc" when none is set.
func runtimeName(configured string) string { return lower.Name(configured) }

func configHint() string {
	if p := os.Getenv("HARDENED_RUNC_CONFIG"); p != "" {
		return p
	}
	return "/etc/hardened-runc/config.toml"
}

// lowerInfo is the lower runtime's version and features from the cache
// under runDir: a create with a warm cache runs nothing.
func lowerInfo(path, runDir string) modifier.Lower { return lower.Cached(path, runDir) }

// stateDir is the lower runtime's state directory for the container.
func (iv *invocation) stateDir(id string) string {
	return lower.Dir(iv.args.Global().Root, id)
}
