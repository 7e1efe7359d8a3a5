package doctor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

func checkUserns(o Options, r requirements) []Check {
	var out []Check
	c := Check{Name: "userns.max", Required: r.userns}
	v, err := readTrim(o.path("/proc/sys/user/max_user_namespaces"))
	n, _ := strconv.Atoi(v)
	switch {
	case err != nil:
		c.Status, c.Detail = Fail, fmt.Sprintf("cannot read user.max_user_namespaces: %v (kernel without CONFIG_USER_NS?)", err)
		c.Fix = "use a kernel built with CONFIG_USER_NS=y"
	case n == 0:
		c.Status, c.Detail = Fail, "user.max_user_namespaces is 0: no container can get its own user namespace"
		c.Fix = "sysctl -w user.max_user_namespaces=15000 (and persist it in /etc/sysctl.d/)"
	default:
		c.Status, c.Detail = OK, fmt.Sprintf("user namespaces available (user.max_user_namespaces=%d)", n)
	}
	out = append(out, c)
	users := r.subIDUsers
	if len(users) == 0 {
		users = []string{"hardened-runc"}
	}
	for _, u := range users {
		for _, file := range []string{"/etc/subuid", "/etc/subgid"} {
			out = append(out, checkSubID(o, file, u, r.userns))
		}
	}
	return out
}

// subIDRange is one line of /etc/subuid or /etc/subgid.
type subIDRange struct {
	owner       string
	start, size uint64
}

func parseSubIDs(data []byte) ([]subIDRange, error) {
	var out []subIDRange
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		f := strings.Split(t, ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want owner:start:count, got %q", line, t)
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		size, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("line %d: bad number in %q", line, t)
		}
		out = append(out, subIDRange{f[0], start, size})
	}
	return out, sc.Err()
}

func checkSubID(o Options, file, owner string, required bool) Check {
	c := Check{Name: "userns." + strings.TrimPrefix(file, "/etc/"), Required: required}
	fix := fmt.Sprintf("run install.sh (it picks a free 65536-aligned range), or add `%s:<start>:268435456` to %s with a range no other entry overlaps", owner, file)
	data, err := os.ReadFile(o.path(file))
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("cannot read %s: %v", file, err), fix
		return c
	}
	ranges, err := parseSubIDs(data)
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%s: %v", file, err), "fix the malformed line"
		return c
	}
	var mine []subIDRange
	for _, r := range ranges {
		if r.owner == owner || ownerIsUID(r.owner, owner) {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("no %s entry for %q: containers cannot get ID ranges of their own", file, owner), fix
		return c
	}
	var total uint64
	for _, m := range mine {
		total += m.size
		for _, r := range ranges {
			if r.owner == m.owner {
				continue
			}
			if r.start < m.start+m.size && m.start < r.start+r.size {
				c.Status = Fail
				c.Detail = fmt.Sprintf("%s range %d+%d overlaps %q's %d+%d: files of %q's containers would be accessible to ours", file, m.start, m.size, r.owner, r.start, r.size, r.owner)
				c.Fix = "move the " + owner + " range past every other entry (install.sh computes one)"
				return c
			}
		}
	}
	if name, id, ok := accountInRanges(o, file, mine); ok {
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s: the %q range contains the ID %d of the host account %q: a container's user would be that account on the host", file, owner, id, name)
		c.Fix = "move the " + owner + " range above every host account's ID (install.sh computes one)"
		return c
	}
	c.Status = OK
	c.Detail = fmt.Sprintf("%s: %q owns %d IDs (%d containers of 65536), no overlap with other entries", file, owner, total, total/65536)
	if total < 65536 {
		c.Status = Fail
		c.Detail = fmt.Sprintf("%s: %q owns only %d IDs, fewer than one container's 65536", file, owner, total)
		c.Fix = fix
	}
	return c
}

// ownerIsUID matches a numeric owner against a user name.
func ownerIsUID(field, name string) bool {
	if _, err := strconv.Atoi(field); err != nil {
		return false
	}
	u, err := user.Lookup(name)
	return err == nil && u.Uid == field
}

// accountInRanges finds a host user (for subuid) or group (for subgid)
// whose ID falls inside one of ranges.
func accountInRanges(o Options, subFile string, ranges []subIDRange) (string, uint64, bool) {
	accounts := "/etc/passwd"
	if strings.HasSuffix(subFile, "subgid") {
		accounts = "/etc/group"
	}
	data, err := os.ReadFile(o.path(accounts))
	if err != nil {
		return "", 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 3 {
			continue
		}
		id, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		for _, r := range ranges {
			if id >= r.start && id < r.start+r.size {
				return f[0], id, true
			}
		}
	}
	return "", 0, false
}
