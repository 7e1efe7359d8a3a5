// Package enginestate reads what a container engine keeps on disk about a
// container and does not put into the OCI spec. Docker hands runc a spec
// without the image's name and without the options the user typed: which
// capabilities were added by name (--cap-add) and which security options
// were set (--security-opt seccomp=unconfined). dockerd keeps both in
// <data-root>/containers/<id>/config.v2.json and hostconfig.json, written
// when the container is created, before the runtime is called.
package enginestate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hardened-runc/hardened-runc/libhardening/modifier"
)

// DefaultDockerRoot is dockerd's default --data-root.
const DefaultDockerRoot = "/var/lib/docker"

// ErrNotDocker means the container is not one of dockerd's, or its state
// cannot be found: callers fall back to what the spec says.
var ErrNotDocker = errors.New("not a Docker container (no config.v2.json)")

// Docker is what dockerd recorded about one container.
type Docker struct {
	// Dir is <data-root>/containers/<id>.
	Dir string
	// Image is the image as the user named it ("nginx:bookworm"), or an
	// image ID for containers created by ID (the legacy builder's steps).
	Image string
	// ImageID is the image's "sha256:..." ID.
	ImageID string
	// Name is the container's name without the leading "/".
	Name string
	// CapAdd and CapDrop are --cap-add and --cap-drop, as "CAP_X" (or
	// "ALL").
	CapAdd  []string
	CapDrop []string
	// SecurityOpt is --security-opt as given ("seccomp=unconfined").
	SecurityOpt []string
	Privileged  bool
}

// DockerContainer reads dockerd's state for container id. The directory is
// found from the spec's own /etc/hostname, /etc/hosts or /etc/resolv.conf
// bind mount (dockerd points them at files in that directory, whatever its
// --data-root), else under DefaultDockerRoot. It is trusted only when it is
// named after the container, sits in a "containers" directory, and it and
// its files are owned by root and not writable by anyone else: a spec
// cannot make hardened-runc read a file someone else controls.
func DockerContainer(s *specs.Spec, id string) (*Docker, error) {
	if id == "" || strings.ContainsAny(id, "/\x00") || id == "." || id == ".." {
		return nil, ErrNotDocker
	}
	dir := dockerDir(s, id)
	if dir == "" {
		return nil, ErrNotDocker
	}
	var cfg struct {
		Image  string `json:"Image"`
		Name   string `json:"Name"`
		Config struct {
			Image string `json:"Image"`
		} `json:"Config"`
	}
	if err := readTrusted(filepath.Join(dir, "config.v2.json"), &cfg); err != nil {
		return nil, err
	}
	var hc struct {
		CapAdd      []string `json:"CapAdd"`
		CapDrop     []string `json:"CapDrop"`
		SecurityOpt []string `json:"SecurityOpt"`
		Privileged  bool     `json:"Privileged"`
	}
	if err := readTrusted(filepath.Join(dir, "hostconfig.json"), &hc); err != nil {
		return nil, err
	}
	return &Docker{
		Dir: dir, Image: cfg.Config.Image, ImageID: cfg.Image, Name: strings.TrimPrefix(cfg.Name, "/"),
		CapAdd: capNames(hc.CapAdd), CapDrop: capNames(hc.CapDrop), SecurityOpt: hc.SecurityOpt, Privileged: hc.Privileged,
	}, nil
}

// SeccompUnconfined reports whether the user asked for no seccomp filter
// (--security-opt seccomp=unconfined, or the old "seccomp:unconfined").
func (d *Docker) SeccompUnconfined() bool {
	for _, o := range d.SecurityOpt {
		if o == "seccomp=unconfined" || o == "seccomp:unconfined" {
			return true
		}
	}
	return false
}

func dockerDir(s *specs.Spec, id string) string {
	if s != nil {
		for _, m := range s.Mounts {
			switch m.Destination {
			case "/etc/hostname", "/etc/hosts", "/etc/resolv.conf":
			default:
				continue
			}
			d := filepath.Dir(filepath.Clean(m.Source))
			if filepath.Base(d) == id && filepath.Base(filepath.Dir(d)) == "containers" && trustedDir(d) {
				return d
			}
		}
	}
	if d := filepath.Join(DefaultDockerRoot, "containers", id); trustedDir(d) {
		return d
	}
	return ""
}

// trustedDir reports whether p is a real directory owned by root and
// writable by nobody else.
func trustedDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir() && rootOwned(fi)
}

func rootOwned(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == 0 && fi.Mode().Perm()&0o022 == 0
}

// readTrusted decodes a root-owned regular file (no symlink).
func readTrusted(p string, v any) error {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNotDocker
		}
		return fmt.Errorf("docker state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("docker state: %w", err)
	}
	if !fi.Mode().IsRegular() || !rootOwned(fi) {
		return fmt.Errorf("docker state %s: not a root-owned regular file, not trusted", p)
	}
	if err := json.NewDecoder(f).Decode(v); err != nil {
		return fmt.Errorf("docker state %s: %w", p, err)
	}
	return nil
}

// capNames writes Docker's capability names ("net_admin", "NET_ADMIN",
// "CAP_NET_ADMIN", "ALL") as "CAP_NET_ADMIN" or "ALL".
func capNames(in []string) []string {
	out := make([]string, 0, len(in))
	for _, c := range in {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if c != "ALL" && !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out = append(out, c)
	}
	return out
}

// Annotations that name the image: containerd's CRI, CRI-O, and the OCI
// image annotation some engines copy into the spec.
var imageAnnotations = []string{"io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName", "org.opencontainers.image.ref.name"}

// ImageAnnotation is the annotation Image's answer is recorded under when
// the spec has none (Docker): the forensic record reads the image from it.
const ImageAnnotation = "org.opencontainers.image.ref.name"

// Image returns the image container id runs: from the spec's annotations
// (CRI, CRI-O), else from dockerd's config.v2.json; "" when neither says.
func Image(s *specs.Spec, id string) string {
	if s != nil {
		for _, k := range imageAnnotations {
			if v := s.Annotations[k]; v != "" {
				return v
			}
		}
	}
	if d, err := DockerContainer(s, id); err == nil {
		return d.Image
	}
	return ""
}

// WithImage returns annotations with the image under ImageAnnotation when
// none of the image annotations is set, for the forensic record; the
// spec's own map is not modified.
func WithImage(ann map[string]string, image string) map[string]string {
	if image == "" {
		return ann
	}
	for _, k := range imageAnnotations {
		if ann[k] != "" {
			return ann
		}
	}
	out := make(map[string]string, len(ann)+1)
	for k, v := range ann {
		out[k] = v
	}
	out[ImageAnnotation] = image
	return out
}

// DockerLog returns the last max lines the container wrote to stdout and
// stderr, from dockerd's json-file log (<dir>/<id>-json.log); nil when
// the container is not Docker's or logs elsewhere.
func DockerLog(s *specs.Spec, id string, max int) []string {
	dir := dockerDir(s, id)
	if dir == "" {
		return nil
	}
	f, err := os.Open(filepath.Join(dir, id+"-json.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	dec := json.NewDecoder(f)
	for {
		var e struct {
			Log string `json:"log"`
		}
		if dec.Decode(&e) != nil {
			break
		}
		lines = append(lines, strings.TrimRight(e.Log, "\n"))
		if len(lines) > 2*max {
			lines = append(lines[:0], lines[len(lines)-max:]...)
		}
	}
	if len(lines) > max {
		lines = lines[len(lines)-max:]
	}
	return lines
}

// EngineMounts returns s's mounts with the sources the engine wrote: a
// modifier that replaced one (the user namespace binds idmapped copies of
// Docker's hostname, hosts and resolv.conf) recorded the engine's source as
// the Before of a "mounts[<destination>].source" change. Modifiers that run
// after it find dockerd's state through these.
func EngineMounts(s *specs.Spec, changes []modifier.Change) []specs.Mount {
	out := slices.Clone(s.Mounts)
	for _, c := range changes {
		dst, ok := strings.CutSuffix(strings.TrimPrefix(c.Path, "mounts["), "].source")
		src, isStr := c.Before.(string)
		if !ok || !isStr || !strings.HasPrefix(c.Path, "mounts[") {
			continue
		}
		for i := range out {
			if out[i].Destination == dst {
				out[i].Source = src
			}
		}
	}
	return out
}
