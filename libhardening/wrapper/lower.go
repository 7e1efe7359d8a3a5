package wrapper

import (
	"os"

	"github.com/hardened-runc/hardened-runc/libhardening/lower"
)

// resolveLower is the configured lower runtime's binary (package lower),
// with errors that name the config file in use.
func resolveLower(configured string, selves ...string) (string, error) {
	return lower.Resolve(configured, configHint(), selves...)
}

func configHint() string {
	if p := os.Getenv("HARDENED_RUNC_CONFIG"); p != "" {
		return p
	}
	return "/etc/hardened-runc/config.toml"
}

// lowerRoot is the lower runtime's state root for this invocation: --root
// when the caller gave one, else the runtime's own default (lower.RootOf).
// Podman passes no --root to crun, and taking runc's default for it made
// every crun container look gone: exec found no container spec (its
// process lost every capability), and the ID allocator's GC, run by the
// next create, released a live container's range and restored the
// engine's overlay under it. Engines that pass --root never read the
// lower runtime's cached facts here; a call without one reads them once.
func (iv *invocation) lowerRoot() string {
	if iv.root == "" {
		iv.root = iv.args.Global().Root
	}
	if iv.root == "" {
		iv.root = lower.RootOf(lower.Cached(iv.lower, iv.cfg.RunDir).Version, os.Getenv("XDG_RUNTIME_DIR"))
	}
	return iv.root
}

// stateDir is the lower runtime's state directory for the container.
func (iv *invocation) stateDir(id string) string {
	return lower.Dir(iv.lowerRoot(), id)
}
