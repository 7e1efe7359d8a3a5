package confine

import (
	"path/filepath"

	"github.com/moby/sys/mountinfo"

	"github.com/hardened-runc/hardened-runc/libhardening/hostpath"
	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
)

// lenientTable resolves like the host's table, except that a path which
// does not exist here (the engine specs in testdata name /var/lib/kubelet,
// /var/lib/docker ...) is taken as a plain directory of that name on the
// root filesystem, so those specs can be judged on any machine.
type lenientTable struct{ *hostpath.Table }

func (l lenientTable) Resolve(p, base string) (*hostpath.Object, error) {
	o, err := l.Table.Resolve(p, base)
	if err == nil || (!hostpath.IsNotExist(err) && (filepath.IsAbs(p) || base != "")) {
		return o, err
	}
	if !filepath.IsAbs(p) {
		if base == "" {
			base = "/bundle"
		}
		p = filepath.Join(base, p)
	}
	p = filepath.Clean(p)
	return &hostpath.Object{Spelled: p, Path: p, Host: p, Mode: 1 << 31, // fs.ModeDir
		Mount: &mountinfo.Info{Mountpoint: "/", Root: "/", Options: "rw,relatime"}}, nil
}

// lenientMounts is Mounts(p) over lenientTable.
func lenientMounts(p *policy.Profile) *MountsModifier {
	return &MountsModifier{p: p, load: func(*modifier.Context) (resolver, error) {
		t, err := hostpath.Load()
		if err != nil {
			return nil, err
		}
		return lenientTable{t}, nil
	}}
}
