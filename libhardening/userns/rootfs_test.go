package userns

import (
	"reflect"
	"testing"

	"github.com/moby/sys/mountinfo"
)

func TestParseOverlay(t *testing.T) {
	cases := []struct {
		name    string
		mount   mountinfo.Info
		want    *Overlay
		wantErr bool
	}{
		{
			name: "docker overlay2, absolute l/ links",
			mount: mountinfo.Info{FSType: "overlay", Mountpoint: "/var/lib/docker/overlay2/c1/merged",
				VFSOptions: "rw,lowerdir=/var/lib/docker/overlay2/l/AAA:/var/lib/docker/overlay2/l/BBB,upperdir=/var/lib/docker/overlay2/c1/diff,workdir=/var/lib/docker/overlay2/c1/work,index=off"},
			want: &Overlay{
				Lower: []Layer{{Path: "/var/lib/docker/overlay2/l/AAA"}, {Path: "/var/lib/docker/overlay2/l/BBB"}},
				Upper: "/var/lib/docker/overlay2/c1/diff", Work: "/var/lib/docker/overlay2/c1/work", Options: []string{"index=off"},
			},
		},
		{
			name: "docker overlay2, relative paths (options longer than a page)",
			mount: mountinfo.Info{FSType: "overlay", Mountpoint: "/srv/docker/overlay2/c1/merged",
				VFSOptions: "rw,index=off,lowerdir=l/AAA:l/BBB,upperdir=c1/diff,workdir=c1/work,userxattr"},
			want: &Overlay{
				Lower: []Layer{{Path: "/srv/docker/overlay2/l/AAA"}, {Path: "/srv/docker/overlay2/l/BBB"}},
				Upper: "/srv/docker/overlay2/c1/diff", Work: "/srv/docker/overlay2/c1/work", Options: []string{"index=off", "userxattr"},
			},
		},
		{
			name: "containerd overlay snapshotter, read-only view",
			mount: mountinfo.Info{FSType: "overlay", Mountpoint: "/run/containerd/io.containerd.runtime.v2.task/k8s.io/x/rootfs",
				VFSOptions: "ro,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/7/fs:/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs"},
			want: &Overlay{Lower: []Layer{
				{Path: "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/7/fs"},
				{Path: "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/3/fs"}}},
		},
		{
			name: "escaped colon and comma, data-only layers, lowerdir+",
			mount: mountinfo.Info{FSType: "overlay", Mountpoint: "/m",
				VFSOptions: `rw,lowerdir=/a\:b:/c\054d::/data1,lowerdir+=/e,datadir+=/f,redirect_dir=on,metacopy=on`},
			want: &Overlay{Lower: []Layer{{Path: "/a:b"}, {Path: "/c,d"}, {Path: "/data1", DataOnly: true}, {Path: "/e"}, {Path: "/f", DataOnly: true}},
				Options: []string{"redirect_dir=on", "metacopy=on"}},
		},
		{name: "not overlay", mount: mountinfo.Info{FSType: "ext4", Mountpoint: "/m"}, wantErr: true},
		{name: "no lowerdir", mount: mountinfo.Info{FSType: "overlay", Mountpoint: "/m", VFSOptions: "rw,upperdir=/u,workdir=/w"}, wantErr: true},
		{name: "upper without work", mount: mountinfo.Info{FSType: "overlay", Mountpoint: "/m", VFSOptions: "rw,lowerdir=/l,upperdir=/u"}, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseOverlay(&c.mount)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			if !c.wantErr && !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestCommonParentAndOnFD(t *testing.T) {
	o := &Overlay{
		Lower:   []Layer{{Path: "/d/overlay2/L1/diff"}, {Path: "/d/overlay2/L2/diff"}},
		Upper:   "/d/overlay2/C/diff",
		Work:    "/d/overlay2/C/work",
		Options: []string{"index=on", "userxattr"},
	}
	p := commonParent(o.dirs())
	if p != "/d/overlay2" {
		t.Fatalf("commonParent = %q", p)
	}
	// Every layer, upper and work included, moves under the idmapped
	// clone; the engine's options stay as they are.
	n := o.onFD(p, 7)
	want := &Overlay{
		Lower:   []Layer{{Path: "/proc/self/fd/7/L1/diff"}, {Path: "/proc/self/fd/7/L2/diff"}},
		Upper:   "/proc/self/fd/7/C/diff",
		Work:    "/proc/self/fd/7/C/work",
		Options: []string{"index=on", "userxattr"},
	}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("onFD = %+v, want %+v", n, want)
	}
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"/a/b/c", "/a/b/d"}, "/a/b"},
		{[]string{"/a/bc", "/a/b"}, "/a"},
		{[]string{"/a/b", "/a/b/c"}, "/a/b"},
		{[]string{"/x", "/y"}, "/"},
	} {
		if got := commonParent(c.in); got != c.want {
			t.Errorf("commonParent(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
