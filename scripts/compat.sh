#!/usr/bin/env bash
# `sudo make compat`: the compatibility corpus. Builds real server images from
# Debian bookworm's packages (no registry: debootstrap once, install packages
# into copies, `docker import` with the entrypoint/cmd/user/workdir/volumes the
# official image has), runs each under plain runc and under hardened-runc
# through a dockerd this script starts (hardened-runc is that daemon's
# default runtime), loads each service on the paths that break first, and
# writes COMPAT.md (image × runtime × profile → works / fails, first error).
#
# For every image that fails under the `default` profile it reruns the image
# with one strict control relaxed at a time, to name the control that broke
# it; for every image it records the paths the service writes outside its
# volumes (`docker diff` under runc) and the syscalls the generated seccomp
# profile would deny (the same profile with SCMP_ACT_LOG as default action,
# read back from the kernel's audit lines, type=1326, in dmesg).
#
# Environment:
#   HR_BIN          directory with hardened-runc and hardenctl (default ./bin)
#   HR_RUNC_11      Debian's runc 1.1 (default /usr/sbin/runc)
#   HR_RUNC_15      runc 1.5 (default /opt/hardened-runc-test/runc-1.5/runc; skipped if absent)
#   COMPAT_CACHE    debootstrap root, image roots, docker data (default /var/cache/hardened-runc-compat)
#   COMPAT_IMAGES   space-separated subset of the corpus (default: all)
#   COMPAT_EXTRA    more hardened-runc columns, "name=BINDIR:LOWER_RUNC:PROFILE ..." (e.g. another build)
#   COMPAT_MIRROR   Debian mirror for debootstrap (default: the first one in apt's sources)
#   COMPAT_NO_DIAG  set: skip the per-control diagnosis and the seccomp log run
#   COMPAT_NO_ROLLOUT set: skip the rollout (audit → per-image profile → enforce) of nginx and postgres
#   COMPAT_ROLLOUT_RUNS audited runs per image in the rollout (default 3)
#   COMPAT_KEEP     set: keep the work directory (logs, configs, forensics)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=${1:-COMPAT.md}
[[ $OUT == /* ]] || OUT=$REPO/$OUT
HR_BIN=${HR_BIN:-$REPO/bin}
RUNC11=${HR_RUNC_11:-/usr/sbin/runc}
RUNC15=${HR_RUNC_15:-/opt/hardened-runc-test/runc-1.5/runc}
CACHE=${COMPAT_CACHE:-/var/cache/hardened-runc-compat}
ALL_IMAGES="nginx postgres redis java php-apache php-fpm mariadb memcached haproxy python node"
IMAGES=${COMPAT_IMAGES:-$ALL_IMAGES}
DOCKER=/usr/bin/docker # Debian's CLI, the one docker.io installs
T0=$(date +%s)

log() { printf '[compat %4ds] %s\n' $(($(date +%s) - T0)) "$*" >&2; }
die() {
	log "FATAL: $*"
	exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, dockerd)"
[ -x "$HR_BIN/hardened-runc" ] && [ -x "$HR_BIN/hardenctl" ] || die "no $HR_BIN/hardened-runc: run make build"

# ---------------------------------------------------------------- host deps
need=()
for p in debootstrap docker.io runc jq curl; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
	log "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

WORK=$(mktemp -d /var/tmp/hr-compat.XXXXXX)
chmod 711 "$WORK" # container roots (mapped IDs) traverse it to their rootfs
RUNDIR=/run/hr-compat-$$
MOUNTS=()
DOCKERD_PID=
cleanup() {
	set +e
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[i]}" 2>/dev/null; done
	stop_dockerd
	if [ -n "${COMPAT_KEEP:-}" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- images
# mirror: the first Debian archive apt is configured with (deb822 or one-line).
mirror() {
	if [ -n "${COMPAT_MIRROR:-}" ]; then
		echo "$COMPAT_MIRROR"
		return
	fi
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE '(https?|file)://[^ ]*/debian/?( |$)' | grep -v security | sed -n 1p | tr -d ' ')
	echo "${m:-http://deb.debian.org/debian}"
}

# base_root: a minimal bookworm, made once and cached; docs and man pages
# excluded as in Docker's debian:slim, services never started by postinst.
base_root() {
	local base=$CACHE/base
	[ -f "$base/.hrcompat-done" ] && return
	local m
	m=$(mirror)
	log "debootstrap bookworm from $m into $base (once)"
	rm -rf "$CACHE/base.tmp"
	mkdir -p "$CACHE"
	debootstrap --variant=minbase bookworm "$CACHE/base.tmp" "$m" >"$CACHE/debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $CACHE/debootstrap.log"
	cat >"$CACHE/base.tmp/etc/dpkg/dpkg.cfg.d/excludes" <<-'EOF'
		path-exclude=/usr/share/doc/*
		path-include=/usr/share/doc/*/copyright
		path-exclude=/usr/share/man/*
		path-exclude=/usr/share/info/*
		path-exclude=/usr/share/locale/*
	EOF
	printf '#!/bin/sh\nexit 101\n' >"$CACHE/base.tmp/usr/sbin/policy-rc.d"
	chmod 755 "$CACHE/base.tmp/usr/sbin/policy-rc.d"
	printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$CACHE/base.tmp/etc/apt/apt.conf.d/99compat"
	chroot "$CACHE/base.tmp" apt-get update -q >>"$CACHE/debootstrap.log" 2>&1 || die "apt-get update in the base root failed"
	touch "$CACHE/base.tmp/.hrcompat-done"
	mv "$CACHE/base.tmp" "$base"
}

chroot_mount() {
	local root=$1
	mount -t proc proc "$root/proc" && MOUNTS+=("$root/proc")
	mount --bind /dev "$root/dev" && MOUNTS+=("$root/dev")
	mkdir -p "$CACHE/apt-archives/partial" "$root/var/cache/apt/archives"
	mount --bind "$CACHE/apt-archives" "$root/var/cache/apt/archives" && MOUNTS+=("$root/var/cache/apt/archives")
}
chroot_umount() {
	local root=$1 m keep=()
	for m in "${MOUNTS[@]}"; do
		if [[ $m == "$root"/* ]]; then umount -l "$m"; else keep+=("$m"); fi
	done
	MOUNTS=("${keep[@]}")
}

# image_tar NAME: the image's root filesystem as a tarball, cached by a key
# over its package list and setup script.
image_tar() {
	local name=$1 fn=${1//-/_} key tar root
	key=$( (
		echo "v1"
		pkgs_"$fn"
		declare -f setup_"$fn" || true
	) | sha256sum | cut -c1-16)
	tar=$CACHE/roots/$name-$key.tar
	if [ ! -f "$tar" ]; then
		log "building root for $name ($(pkgs_"$fn"))"
		mkdir -p "$CACHE/roots"
		root=$WORK/root-$name
		cp -a "$CACHE/base" "$root"
		rm -f "$root/.hrcompat-done"
		chroot_mount "$root"
		if [ -n "$(pkgs_"$fn")" ]; then
			# shellcheck disable=SC2046
			DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q $(pkgs_"$fn") >"$WORK/apt-$name.log" 2>&1 ||
				{
					tail -20 "$WORK/apt-$name.log" >&2
					die "apt-get install for $name failed"
				}
		fi
		if declare -F setup_"$fn" >/dev/null; then
			{
				declare -f setup_"$fn"
				echo "setup_$fn"
			} | chroot "$root" /bin/bash -euo pipefail >"$WORK/setup-$name.log" 2>&1 || {
				cat "$WORK/setup-$name.log" >&2
				die "setup of $name failed"
			}
		fi
		# no apt-get clean: the archive is the shared cache, bind-mounted
		chroot_umount "$root"
		rm -rf "$root/var/lib/apt/lists"/*_* "$root/usr/sbin/policy-rc.d"
		tar -C "$root" --numeric-owner -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
		rm -rf "$root"
		find "$CACHE/roots" -name "$name-*.tar" ! -name "$name-$key.tar" -delete
	fi
	echo "$tar $key"
}

# import NAME: hrcompat/NAME:latest, re-imported only when its root changed.
import() {
	local name=$1 fn=${1//-/_} tar key have
	read -r tar key < <(image_tar "$name")
	have=$($DOCKER image inspect -f '{{index .Config.Labels "hrcompat.key"}}' "hrcompat/$name" 2>/dev/null || true)
	[ "$have" = "$key" ] && return
	local changes=() c
	# docker import takes no STOPSIGNAL: run_case passes it as --stop-signal.
	while IFS= read -r c; do [[ -n $c && $c != STOPSIGNAL* ]] && changes+=(--change "$c"); done < <(
		changes_"$fn" 2>/dev/null || true
		echo "LABEL hrcompat.key=$key"
	)
	log "importing hrcompat/$name"
	$DOCKER import "${changes[@]}" "$tar" "hrcompat/$name:latest" >/dev/null
}

# ---------------------------------------------------------------- corpus
# Each image: pkgs_X (Debian packages), setup_X (run in the chroot after
# apt-get install), changes_X (the official image's Dockerfile instructions,
# as `docker import --change` lines), runargs_X, ready_X (client command that
# succeeds once the service answers) and load_X CONTAINER (the load; prints
# what failed).

pkgs_base() { :; }
changes_base() { echo 'CMD ["bash"]'; }
# The load generator (runs under runc): pgbench ships in postgresql-15.
pkgs_client() { echo curl python3 redis-tools postgresql-15 mariadb-client libfcgi-bin; }

# nginx as Debian lays it out (temp files under /var/lib/nginx), logs to the
# container's stdout as the official image does; a reverse proxy to a second
# server block, so request bodies and large responses go through temp files.
pkgs_nginx() { echo nginx; }
setup_nginx() {
	ln -sf /dev/stdout /var/log/nginx/access.log
	ln -sf /dev/stderr /var/log/nginx/error.log
	cat >/etc/nginx/sites-available/default <<-'EOF'
		server {
		    listen 80 default_server;
		    root /var/www/html;
		    location / { try_files $uri $uri/ =404; }
		    location /api/ {
		        client_max_body_size 8m;
		        proxy_pass http://127.0.0.1:8081/;
		        proxy_buffers 4 16k;
		    }
		}
		server {
		    listen 127.0.0.1:8081;
		    root /var/www/upstream;
		    location = /echo { return 200 "accepted\n"; }
		}
	EOF
	mkdir -p /var/www/upstream
	echo '<h1>hello from nginx</h1>' >/var/www/html/index.html
	head -c 4194304 /dev/urandom >/var/www/upstream/big.bin
}
changes_nginx() {
	echo 'CMD ["nginx", "-g", "daemon off;"]'
	echo 'EXPOSE 80'
	echo 'STOPSIGNAL SIGQUIT'
}
ready_nginx() { echo 'curl -sf http://127.0.0.1/ >/dev/null'; }
load_nginx() {
	client "$1" sh -ec '
		n=$(curl -s -o /dev/null -w "%{http_code}\n" "http://127.0.0.1/?[1-300]" | grep -c "^200$")
		[ "$n" = 300 ] || { echo "GET /: $n of 300 answered 200"; exit 1; }
		head -c 1048576 /dev/urandom >/tmp/body
		for i in $(seq 20); do
			c=$(curl -s -o /dev/null -w "%{http_code}" --data-binary @/tmp/body http://127.0.0.1/api/echo)
			[ "$c" = 200 ] || { echo "POST 1 MiB through the proxy (client body temp file): HTTP $c"; exit 1; }
		done
		for i in $(seq 10); do
			s=$(curl -s http://127.0.0.1/api/big.bin | wc -c)
			[ "$s" = 4194304 ] || { echo "GET 4 MiB through the proxy (proxy temp file): $s bytes"; exit 1; }
		done'
}

# PostgreSQL 15 with the official image's entrypoint logic: initdb on first
# start into the PGDATA volume, a temporary server for setup, gosu postgres.
pkgs_postgres() { echo postgresql-15 gosu; }
setup_postgres() {
	pg_dropcluster 15 main 2>/dev/null || true
	rm -rf /var/lib/postgresql/15 /etc/postgresql/15
	mkdir -p /docker-entrypoint-initdb.d /var/lib/postgresql/data
	chown postgres:postgres /var/lib/postgresql/data
	mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql && chmod 3777 /var/run/postgresql
	sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" /usr/share/postgresql/15/postgresql.conf.sample
	cat >/usr/local/bin/docker-entrypoint.sh <<-'EOF'
		#!/bin/bash
		# The official postgres entrypoint, shortened: same steps, same order.
		set -Eeo pipefail
		if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
		if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
			mkdir -p "$PGDATA"; chown postgres "$PGDATA"; chmod 700 "$PGDATA" || :
			mkdir -p /var/run/postgresql || :; chmod 3777 /var/run/postgresql || :
			find /var/run/postgresql \! -user postgres -exec chown postgres '{}' + || :
			exec gosu postgres "$BASH_SOURCE" "$@"
		fi
		if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
			initdb --username=postgres --auth-local=trust --auth-host=trust -D "$PGDATA"
			printf '\nhost all all all trust\n' >>"$PGDATA/pg_hba.conf"
			pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
			psql -v ON_ERROR_STOP=1 --username postgres -c 'CREATE DATABASE app'
			pg_ctl -D "$PGDATA" -m fast -w stop
			echo 'PostgreSQL init process complete; ready for start up.'
		fi
		exec "$@"
	EOF
	chmod 755 /usr/local/bin/docker-entrypoint.sh
}
changes_postgres() {
	echo 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin'
	echo 'ENV PGDATA=/var/lib/postgresql/data'
	echo 'ENV LANG=C.UTF-8'
	echo 'VOLUME /var/lib/postgresql/data'
	echo 'ENTRYPOINT ["docker-entrypoint.sh"]'
	echo 'CMD ["postgres"]'
	echo 'STOPSIGNAL SIGINT'
	echo 'EXPOSE 5432'
}
ready_postgres() { echo 'psql -h 127.0.0.1 -U postgres -d app -Atc "select 1" >/dev/null 2>&1'; }
load_postgres() {
	client "$1" sh -ec '
		export PGHOST=127.0.0.1 PGUSER=postgres PGDATABASE=app
		pgbench -q -i -s 5 >/tmp/out 2>&1 || { grep -m1 -iE "error|fatal|panic" /tmp/out || tail -1 /tmp/out; exit 1; }
		pgbench -c 4 -T 10 >/tmp/out 2>&1 || { grep -m1 -iE "error|fatal|panic" /tmp/out || tail -1 /tmp/out; exit 1; }
		psql -v ON_ERROR_STOP=1 -qc CHECKPOINT 2>&1 || exit 1' || return 1
	restart_and_wait "$1" postgres || return 1
	local n
	n=$(client "$1" psql -h 127.0.0.1 -U postgres -d app -Atc 'select count(*) from pgbench_accounts' 2>&1) || {
		echo "after restart: $n"
		return 1
	}
	[ "$n" = 500000 ] || {
		echo "after restart: pgbench_accounts has $n rows, want 500000"
		return 1
	}
}

# Redis with the official entrypoint: chown /data, gosu redis, rdb in /data.
pkgs_redis() { echo redis-server gosu; }
setup_redis() {
	mkdir -p /data && chown redis:redis /data
	cat >/usr/local/bin/docker-entrypoint.sh <<-'EOF'
		#!/bin/sh
		set -e
		if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
		if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
			find . \! -user redis -exec chown redis '{}' +
			exec gosu redis "$0" "$@"
		fi
		umask 0077
		exec "$@"
	EOF
	chmod 755 /usr/local/bin/docker-entrypoint.sh
}
changes_redis() {
	echo 'VOLUME /data'
	echo 'WORKDIR /data'
	echo 'ENTRYPOINT ["docker-entrypoint.sh"]'
	echo 'CMD ["redis-server"]'
	echo 'EXPOSE 6379'
}
ready_redis() { echo 'redis-cli -h 127.0.0.1 ping | grep -q PONG'; }
load_redis() {
	client "$1" sh -ec '
		redis-benchmark -h 127.0.0.1 -q -n 20000 -r 10000 -t set,get,lpush,incr >/tmp/out 2>&1 || { tail -1 /tmp/out; exit 1; }
		before=$(redis-cli -h 127.0.0.1 lastsave)
		r=$(redis-cli -h 127.0.0.1 bgsave); case "$r" in *started*) ;; *) echo "BGSAVE: $r"; exit 1;; esac
		for i in $(seq 60); do
			[ "$(redis-cli -h 127.0.0.1 lastsave)" != "$before" ] && break
			sleep 0.5
		done
		s=$(redis-cli -h 127.0.0.1 info persistence | tr -d "\r" | grep rdb_last_bgsave_status)
		[ "$s" = rdb_last_bgsave_status:ok ] || { echo "BGSAVE: $s"; exit 1; }' || return 1
	restart_and_wait "$1" redis || return 1
	local n
	n=$(client "$1" redis-cli -h 127.0.0.1 dbsize)
	[ "${n:-0}" -gt 1000 ] || {
		echo "after restart: dbsize $n (dump.rdb not loaded)"
		return 1
	}
}

# A Java HTTP service on OpenJDK 17 (com.sun.net.httpserver, a thread pool,
# allocation enough to keep the GC busy).
pkgs_java() { echo default-jdk-headless; }
setup_java() {
	mkdir -p /app
	cat >/app/Server.java <<-'EOF'
		import com.sun.net.httpserver.HttpServer;
		import java.net.InetSocketAddress;
		import java.nio.charset.StandardCharsets;
		import java.security.MessageDigest;
		import java.util.HexFormat;
		import java.util.concurrent.Executors;

		public class Server {
		    public static void main(String[] args) throws Exception {
		        HttpServer s = HttpServer.create(new InetSocketAddress(8080), 128);
		        s.setExecutor(Executors.newFixedThreadPool(8));
		        s.createContext("/", ex -> {
		            byte[] junk = new byte[1 << 20];
		            try {
		                MessageDigest md = MessageDigest.getInstance("SHA-256");
		                String h = HexFormat.of().formatHex(md.digest(junk));
		                byte[] body = ("java ok " + h.substring(0, 8) + "\n").getBytes(StandardCharsets.UTF_8);
		                ex.sendResponseHeaders(200, body.length);
		                ex.getResponseBody().write(body);
		            } catch (Exception e) {
		                ex.sendResponseHeaders(500, -1);
		            }
		            ex.close();
		        });
		        s.start();
		        System.out.println("listening on 8080");
		    }
		}
	EOF
	cd /app && javac Server.java && rm Server.java
	rm -rf /tmp/hsperfdata_root # javac's, not part of the image
}
changes_java() {
	echo 'WORKDIR /app'
	echo 'ENTRYPOINT ["java", "-cp", "/app", "Server"]'
	echo 'EXPOSE 8080'
}
ready_java() { echo 'curl -sf http://127.0.0.1:8080/ >/dev/null'; }
load_java() {
	client "$1" sh -ec '
		n=$(curl -s "http://127.0.0.1:8080/?[1-400]" | grep -c "^java ok 30e14955$")
		[ "$n" = 400 ] || { echo "$n of 400 requests answered"; exit 1; }'
}

# PHP on Apache (mod_php) with Debian's php.ini (sessions under
# /var/lib/php/sessions) and the official php:apache entrypoint.
pkgs_php_apache() { echo apache2 libapache2-mod-php; }
setup_php_apache() {
	rm -f /var/www/html/index.html
	ln -sfT /dev/stderr /var/log/apache2/error.log
	ln -sfT /dev/stdout /var/log/apache2/access.log
	ln -sfT /dev/stdout /var/log/apache2/other_vhosts_access.log
	cat >/var/www/html/index.php <<-'EOF'
		<?php
		session_start();
		$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
		$f = tempnam(sys_get_temp_dir(), 'hr');
		file_put_contents($f, str_repeat('x', 100000));
		$tmp = filesize($f) == 100000 ? 'tmp ok' : 'tmp FAIL';
		unlink($f);
		$up = isset($_FILES['f']) ? ' upload ' . $_FILES['f']['error'] . ' ' . $_FILES['f']['size'] : '';
		echo "php ok n={$_SESSION['n']} $tmp$up\n";
	EOF
	cat >/usr/local/bin/apache2-foreground <<-'EOF'
		#!/bin/bash
		# The official php:apache apache2-foreground.
		set -e
		: "${APACHE_CONFDIR:=/etc/apache2}"
		: "${APACHE_ENVVARS:=$APACHE_CONFDIR/envvars}"
		if test -f "$APACHE_ENVVARS"; then . "$APACHE_ENVVARS"; fi
		: "${APACHE_RUN_DIR:=/var/run/apache2}"
		: "${APACHE_PID_FILE:=$APACHE_RUN_DIR/apache2.pid}"
		rm -f "$APACHE_PID_FILE"
		for e in "${!APACHE_@}"; do
			if [[ "$e" == *_DIR ]] && [[ "${!e}" == /* ]]; then
				dir="${!e}"
				while [ "$dir" != "$(dirname "$dir")" ]; do
					dir="$(dirname "$dir")"
					if [ -d "$dir" ]; then break; fi
					absDir="$(readlink -f "$dir" 2>/dev/null || :)"
					if [ -n "$absDir" ]; then mkdir -p "$absDir"; fi
				done
				mkdir -p "${!e}"
			fi
		done
		exec apache2 -DFOREGROUND "$@"
	EOF
	chmod 755 /usr/local/bin/apache2-foreground
}
changes_php_apache() {
	echo 'WORKDIR /var/www/html'
	echo 'CMD ["apache2-foreground"]'
	echo 'STOPSIGNAL SIGWINCH'
	echo 'EXPOSE 80'
}
ready_php_apache() { echo 'curl -sf http://127.0.0.1/ | grep -q "php ok"'; }
load_php_apache() {
	client "$1" sh -ec '
		curl -s -c /tmp/jar -b /tmp/jar "http://127.0.0.1/?[1-200]" >/tmp/out
		last=$(tail -1 /tmp/out)
		[ "$last" = "php ok n=200 tmp ok" ] || { echo "session/tmp: ${last:-no answer}"; exit 1; }
		head -c 2000000 /dev/urandom >/tmp/up
		r=$(curl -s -F f=@/tmp/up http://127.0.0.1/)
		case "$r" in *"upload 0 2000000"*) ;; *) echo "upload: $r"; exit 1;; esac'
}

# PHP-FPM as the official php:fpm image runs it: foreground, port 9000.
pkgs_php_fpm() { echo php8.2-fpm; }
setup_php_fpm() {
	ln -s /usr/sbin/php-fpm8.2 /usr/local/sbin/php-fpm
	sed -i -e 's!^pid = .*!;pid!' -e 's!^error_log = .*!error_log = /proc/self/fd/2!' /etc/php/8.2/fpm/php-fpm.conf
	cat >/etc/php/8.2/fpm/pool.d/zz-docker.conf <<-'EOF'
		[global]
		daemonize = no
		[www]
		listen = 9000
		clear_env = no
		catch_workers_output = yes
	EOF
	mkdir -p /var/www/html
	cat >/var/www/html/index.php <<-'EOF'
		<?php
		session_start();
		$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
		$f = tempnam(sys_get_temp_dir(), 'hr');
		file_put_contents($f, str_repeat('x', 100000));
		$ok = filesize($f) == 100000;
		unlink($f);
		echo $ok ? "fpm ok n={$_SESSION['n']}\n" : "fpm tmp FAIL\n";
	EOF
}
changes_php_fpm() {
	echo 'WORKDIR /var/www/html'
	echo 'CMD ["php-fpm"]'
	echo 'STOPSIGNAL SIGQUIT'
	echo 'EXPOSE 9000'
}
ready_php_fpm() { echo 'SCRIPT_FILENAME=/var/www/html/index.php REQUEST_METHOD=GET cgi-fcgi -bind -connect 127.0.0.1:9000 2>/dev/null | grep -q "fpm ok"'; }
load_php_fpm() {
	client "$1" sh -ec '
		export SCRIPT_FILENAME=/var/www/html/index.php REQUEST_METHOD=GET
		r=$(cgi-fcgi -bind -connect 127.0.0.1:9000 2>&1 | tr -d "\r")
		sid=$(echo "$r" | sed -n "s/^Set-Cookie: PHPSESSID=\([^;]*\).*/\1/p")
		[ -n "$sid" ] || { echo "no session cookie, answer: $(echo "$r" | tail -1)"; exit 1; }
		export HTTP_COOKIE="PHPSESSID=$sid"
		for i in $(seq 2 200); do
			r=$(cgi-fcgi -bind -connect 127.0.0.1:9000 2>&1 | tail -1)
			[ "$r" = "fpm ok n=$i" ] || { echo "request $i with a session: $r"; exit 1; }
		done'
}

# MariaDB with the official entrypoint's steps: install the system tables
# into the empty /var/lib/mysql volume, a temporary server without network
# to set the root password, then mariadbd as mysql. Like the official
# entrypoint it creates no /run/mysqld (the image has it).
pkgs_mariadb() { echo mariadb-server gosu; }
setup_mariadb() {
	rm -rf /var/lib/mysql && mkdir -p /var/lib/mysql /run/mysqld
	chown mysql:mysql /var/lib/mysql /run/mysqld && chmod 1777 /run/mysqld
	printf '[mariadbd]\nbind-address = 0.0.0.0\nskip-name-resolve\n' >/etc/mysql/mariadb.conf.d/60-docker.cnf
	cat >/usr/local/bin/docker-entrypoint.sh <<-'EOF'
		#!/bin/bash
		set -eo pipefail
		if [ "${1:0:1}" = '-' ]; then set -- mariadbd "$@"; fi
		if [ "$1" = mariadbd ] && [ "$(id -u)" = 0 ]; then
			find /var/lib/mysql \! -user mysql -exec chown mysql: '{}' +
			if [ -d /run/mysqld ]; then find /run/mysqld -maxdepth 0 \! -user mysql -exec chown mysql: '{}' \;; fi
			exec gosu mysql "$BASH_SOURCE" "$@"
		fi
		if [ "$1" = mariadbd ] && [ ! -d /var/lib/mysql/mysql ]; then
			mariadb-install-db --datadir=/var/lib/mysql --skip-test-db --auth-root-authentication-method=normal --skip-log-bin
			mariadbd --skip-networking --skip-log-bin --socket=/run/mysqld/mysqld.sock &
			for i in $(seq 30); do mariadb -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 1; done
			# install-db also made root@127.0.0.1, ::1 and the host name without a
			# password; they would win over root@% (as the official one does).
			mariadb -uroot <<-SQL
				DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';
				FLUSH PRIVILEGES;
				CREATE USER 'root'@'%' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';
				GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
				CREATE DATABASE app;
			SQL
			mariadb-admin -uroot shutdown
			wait
			echo 'MariaDB init process done. Ready for start up.'
		fi
		exec "$@"
	EOF
	chmod 755 /usr/local/bin/docker-entrypoint.sh
}
changes_mariadb() {
	echo 'VOLUME /var/lib/mysql'
	echo 'ENTRYPOINT ["docker-entrypoint.sh"]'
	echo 'CMD ["mariadbd"]'
	echo 'EXPOSE 3306'
	echo 'STOPSIGNAL SIGTERM'
}
runargs_mariadb() { printf '%s\n' '-e MARIADB_ROOT_PASSWORD=compat'; }
ready_mariadb() { echo 'mariadb -h127.0.0.1 -uroot -pcompat -e "select 1" app >/dev/null 2>&1'; }
load_mariadb() {
	client "$1" sh -ec '
		q() { mariadb -h127.0.0.1 -uroot -pcompat app "$@"; }
		q -e "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB" 2>&1
		for b in $(seq 20); do
			echo "INSERT INTO t (v) VALUES $(seq 1000 | sed "s/.*/(REPEAT(\"x\",100))/" | paste -sd,);"
		done | q 2>&1
		q -e "FLUSH TABLES; SET GLOBAL innodb_fast_shutdown=0" 2>&1' || return 1
	restart_and_wait "$1" mariadb || return 1
	local n
	n=$(client "$1" mariadb -h127.0.0.1 -uroot -pcompat app -Nse 'select count(*) from t' 2>&1)
	[ "$n" = 20000 ] || {
		echo "after restart: $n"
		return 1
	}
}

# memcached as the official image: USER memcache.
pkgs_memcached() { echo memcached; }
changes_memcached() {
	echo 'USER memcache'
	echo 'CMD ["memcached"]'
	echo 'EXPOSE 11211'
}
ready_memcached() { echo "python3 -c 'import socket; s=socket.create_connection((\"127.0.0.1\",11211),1); s.sendall(b\"version\\r\\n\"); assert s.recv(64).startswith(b\"VERSION\")'"; }
load_memcached() {
	client "$1" python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", 11211), 5)
f = s.makefile("rb")
val = b"v" * 10000
for i in range(5000):
    s.sendall(b"set k%d 0 0 %d\r\n%s\r\n" % (i, len(val), val))
    r = f.readline()
    if r != b"STORED\r\n":
        sys.exit("set k%d: %r" % (i, r))
for i in range(5000):
    s.sendall(b"get k%d\r\n" % i)
    h = f.readline()
    if not h.startswith(b"VALUE"):
        sys.exit("get k%d: %r" % (i, h))
    d = f.read(len(val) + 2); f.readline()
    if d[:-2] != val:
        sys.exit("get k%d: wrong value" % i)
'
}

# HAProxy as the official image: USER haproxy, -W -db, a config with two
# backend servers (python http.server in a helper container under runc that
# shares the proxy's network namespace).
pkgs_haproxy() { echo haproxy; }
setup_haproxy() {
	mkdir -p /usr/local/etc/haproxy
	cat >/usr/local/etc/haproxy/haproxy.cfg <<-'EOF'
		global
		    log stdout format raw local0
		    maxconn 1024
		defaults
		    mode http
		    log global
		    option httplog
		    timeout connect 5s
		    timeout client 30s
		    timeout server 30s
		frontend web
		    bind :8080
		    default_backend app
		backend app
		    balance roundrobin
		    server a 127.0.0.1:8081 check inter 1s
		    server b 127.0.0.1:8082 check inter 1s
	EOF
	cat >/usr/local/bin/docker-entrypoint.sh <<-'EOF'
		#!/bin/sh
		set -e
		if [ "${1#-}" != "$1" ]; then set -- haproxy "$@"; fi
		if [ "$1" = haproxy ]; then shift; set -- haproxy -W -db "$@"; fi
		exec "$@"
	EOF
	chmod 755 /usr/local/bin/docker-entrypoint.sh
}
changes_haproxy() {
	echo 'USER haproxy'
	echo 'WORKDIR /var/lib/haproxy'
	echo 'ENTRYPOINT ["docker-entrypoint.sh"]'
	echo 'CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'
	echo 'STOPSIGNAL SIGUSR1'
	echo 'EXPOSE 8080'
}
ready_haproxy() { echo 'curl -sf http://127.0.0.1:8080/ >/dev/null'; }
start_helpers_haproxy() {
	$DOCKER run -d --runtime runc --name "$1-backend" --network "container:$1" hrcompat/python \
		sh -c 'python3 -m http.server 8081 --bind 127.0.0.1 & exec python3 -m http.server 8082 --bind 127.0.0.1' >/dev/null
}
load_haproxy() {
	client "$1" sh -ec '
		n=$(curl -s -o /dev/null -w "%{http_code}\n" "http://127.0.0.1:8080/?[1-500]" | grep -c "^200$")
		[ "$n" = 500 ] || { echo "$n of 500 requests through the proxy answered 200"; exit 1; }'
}

# python3 -m http.server, serving a directory.
pkgs_python() { echo python3; }
setup_python() {
	mkdir -p /srv
	echo 'hello from python' >/srv/index.html
	head -c 2097152 /dev/urandom >/srv/big.bin
}
changes_python() {
	echo 'WORKDIR /srv'
	echo 'CMD ["python3", "-m", "http.server", "8000"]'
	echo 'EXPOSE 8000'
}
ready_python() { echo 'curl -sf http://127.0.0.1:8000/ >/dev/null'; }
load_python() {
	client "$1" sh -ec '
		n=$(curl -s -o /dev/null -w "%{http_code}\n" "http://127.0.0.1:8000/?[1-300]" | grep -c "^200$")
		[ "$n" = 300 ] || { echo "$n of 300 requests answered 200"; exit 1; }
		s=$(curl -s http://127.0.0.1:8000/big.bin | wc -c)
		[ "$s" = 2097152 ] || { echo "big.bin: $s bytes"; exit 1; }'
}

# Node.js 18: an HTTP service using zlib, crypto and the tmp directory.
pkgs_node() { echo nodejs; }
setup_node() {
	mkdir -p /app
	cat >/app/server.js <<-'EOF'
		const http = require('http'), zlib = require('zlib'), crypto = require('crypto');
		const fs = require('fs'), os = require('os'), path = require('path');
		http.createServer((req, res) => {
		  const buf = crypto.randomBytes(65536);
		  const f = path.join(os.tmpdir(), 'n' + process.pid + '-' + Math.random());
		  fs.writeFileSync(f, buf);
		  const back = fs.readFileSync(f);
		  fs.unlinkSync(f);
		  const z = zlib.gzipSync(back);
		  const ok = zlib.gunzipSync(z).equals(buf);
		  res.end(ok ? 'node ok\n' : 'node FAIL\n');
		}).listen(3000, () => console.log('listening on 3000'));
	EOF
}
changes_node() {
	echo 'WORKDIR /app'
	echo 'CMD ["node", "/app/server.js"]'
	echo 'EXPOSE 3000'
}
ready_node() { echo 'curl -sf http://127.0.0.1:3000/ >/dev/null'; }
load_node() {
	client "$1" sh -ec '
		n=$(curl -s "http://127.0.0.1:3000/?[1-1000]" | grep -c "^node ok$")
		[ "$n" = 1000 ] || { echo "$n of 1000 requests answered"; exit 1; }'
}

# ---------------------------------------------------------------- dockerd
# Runtime columns: NAME BINDIR LOWER PROFILE. "runc" is Docker's own runc
# (Docker's defaults); the first hardened column is the daemon's default.
COLUMNS=()
add_column() { COLUMNS+=("$1 $2 $3 $4"); }
add_column runc - "$RUNC11" -
add_column hardened "$HR_BIN" "$RUNC11" default
[ -x "$RUNC15" ] && add_column hardened-15 "$HR_BIN" "$RUNC15" default
for x in ${COMPAT_EXTRA:-}; do
	IFS=: read -r b l p <<<"${x#*=}"
	add_column "${x%%=*}" "$b" "$l" "$p"
done
# Diagnosis columns: the default profile with one control relaxed.
DIAG=(hr-rw hr-rootfs hr-exec hr-seccomp hr-caps)
declare -A DIAG_WHAT=(
	[hr-rw]="writable root (rootfs.readonly off; whether the tmpfs mounts stay depends on the build)"
	[hr-rootfs]="writable root and no tmpfs (rootfs.tmpfs = [])"
	[hr-exec]="tmpfs without noexec"
	[hr-seccomp]="Docker's seccomp profile (seccomp.mode = \"keep\")"
	[hr-caps]="Docker's capability set"
	[hr-seclog]="generated seccomp with SCMP_ACT_LOG default, root as Docker leaves it"
)
if [ -z "${COMPAT_NO_DIAG:-}" ]; then
	for d in "${DIAG[@]}" hr-seclog; do add_column "$d" "$HR_BIN" "$RUNC11" "compat-${d#hr-}"; done
fi
# The rollout (issue 13's "from audit to enforce, per image") on the images
# whose strict controls break them: its own runtime name, config, profiles
# and forensics, so that `hardenctl image` sees only the rollout's launches.
ROLLOUT_IMAGES=()
if [ -z "${COMPAT_NO_ROLLOUT:-}" ]; then
	for img in nginx postgres; do
		if [[ " $IMAGES " == *" $img "* ]]; then ROLLOUT_IMAGES+=("$img"); fi
	done
fi
if ((${#ROLLOUT_IMAGES[@]})); then add_column hr-rollout "$HR_BIN" "$RUNC11" default; fi

# pick FILE CANDIDATE...: write the first candidate that this hardenctl
# validates (profile fields differ between versions: rootfs.readonly was a
# boolean before it became enforce/audit/off).
pick() {
	local f=$1 c
	shift
	for c in "$@"; do
		printf '%b' "$c" >"$f"
		HARDENED_RUNC_CONFIG=$WORK/config-hardened.toml "$HR_BIN/hardenctl" profile validate "$f" >/dev/null 2>&1 && return 0
	done
	die "no variant of $(basename "$f") validates with $HR_BIN/hardenctl"
}

write_profiles() {
	local p=$WORK/profiles
	mkdir -p "$p/seccomp"
	# The generated profile for Docker's ordinary spec, every syscall it would
	# deny logged instead (audit type=1326, code 0x7ffc0000).
	local b=$WORK/gen-bundle
	mkdir -p "$b/rootfs"
	# Docker's spec without what points into a /var/lib/docker that need not
	# exist here (the overlay root, the container's resolv.conf and hosts
	# binds) and without its AppArmor profile (a kernel without AppArmor
	# refuses it): the seccomp profile depends on neither.
	jq '.root.path = "rootfs" | .mounts |= map(select((.source // "") | startswith("/var/lib/docker/") | not)) | del(.process.apparmorProfile)' \
		"$REPO/libhardening/confine/testdata/docker-20.10.json" >"$b/config.json"
	HARDENED_RUNC_CONFIG=$WORK/config-hardened.toml "$HR_BIN/hardenctl" seccomp generate --bundle "$b" --profile default >"$WORK/generated.json"
	jq '.defaultAction = "SCMP_ACT_LOG" | del(.defaultErrnoRet)' "$WORK/generated.json" >"$p/seccomp/compat-log.json"
	pick "$p/compat-rw.toml" '[rootfs]\nreadonly = false\n' '[rootfs]\nreadonly = "off"\n'
	pick "$p/compat-rootfs.toml" '[rootfs]\nreadonly = false\ntmpfs = []\n' '[rootfs]\nreadonly = "off"\ntmpfs = []\n'
	pick "$p/compat-exec.toml" '[rootfs]\ntmpfs_noexec = "off"\n' '[rootfs]\ntmpfs_options = ["nosuid", "nodev", "mode=1777"]\n'
	pick "$p/compat-seccomp.toml" '[seccomp]\nmode = "keep"\n'
	pick "$p/compat-caps.toml" '[capabilities]\nallow = ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"]\n'
	# The root as Docker leaves it, so that the image gets as far as its load.
	pick "$p/compat-seclog.toml" '[rootfs]\nreadonly = false\ntmpfs = []\n[seccomp]\nmode = "profile"\nprofile = "compat-log"\n' \
		'[rootfs]\nreadonly = "off"\ntmpfs = []\n[seccomp]\nmode = "profile"\nprofile = "compat-log"\n'
}

write_configs() {
	local c name bin lower prof
	for c in "${COLUMNS[@]}"; do
		read -r name bin lower prof <<<"$c"
		[ "$name" = runc ] && continue
		# The diagnosis profiles are written for $HR_BIN's profile schema;
		# another build gets a directory of its own (only its embedded ones).
		local pd=$WORK/profiles
		[ "$bin" = "$HR_BIN" ] || pd=$WORK/profiles-$name
		[ "$name" = hr-rollout ] && pd=$WORK/profiles-rollout
		mkdir -p "$WORK/forensics-$name" "$WORK/hr-run-$name" "$pd"
		cat >"$WORK/config-$name.toml" <<-EOF
			runtime = "$lower"
			profiles_dir = "$pd"
			forensics_dir = "$WORK/forensics-$name"
			run_dir = "$WORK/hr-run-$name"
			default_profile = "$prof"
		EOF
		printf '#!/bin/sh\nHARDENED_RUNC_CONFIG=%s exec %s "$@"\n' "$WORK/config-$name.toml" "$bin/hardened-runc" >"$WORK/rt-$name"
		chmod 755 "$WORK/rt-$name"
	done
}

DOCKER_SOCK=$RUNDIR/docker.sock
export DOCKER_HOST=unix://$DOCKER_SOCK
# start_dockerd DEFAULT: a private dockerd (images cached in COMPAT_CACHE)
# with every column registered through `hardenctl runtime configure`, as
# an admin would, and DEFAULT as its default runtime.
start_dockerd() {
	local def=$1 cfg=$WORK/daemon.json c name
	mkdir -p "$RUNDIR" "$CACHE/docker"
	jq -n --arg d "$CACHE/docker" --arg e "$RUNDIR/exec" --arg p "$RUNDIR/dockerd.pid" --arg h "unix://$DOCKER_SOCK" \
		'{"data-root": $d, "exec-root": $e, pidfile: $p, hosts: [$h], iptables: false, "ip-forward": false,
		  "ip-masq": false, bridge: "none", "storage-driver": "overlay2"}' >"$cfg"
	for c in "${COLUMNS[@]}"; do
		read -r name _ <<<"$c"
		[ "$name" = runc ] && continue
		local a=(runtime configure --runtime docker --engine-config "$cfg" --runtime-name "$name" --runtime-path "$WORK/rt-$name")
		[ "$name" = "$def" ] && a+=(--set-as-default)
		"$HR_BIN/hardenctl" "${a[@]}" >/dev/null
	done
	[ "$def" = runc ] && jq '.["default-runtime"] = "runc"' "$cfg" >"$cfg.tmp" && mv "$cfg.tmp" "$cfg"
	dockerd --config-file "$cfg" >>"$WORK/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	for _ in $(seq 120); do
		$DOCKER info --format '{{.ServerVersion}}' >/dev/null 2>&1 && return 0
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.5
	done
	tail -20 "$WORK/dockerd.log" >&2
	die "dockerd did not start"
}
stop_dockerd() {
	[ -n "$DOCKERD_PID" ] || return 0
	local ids
	ids=$($DOCKER ps -aq 2>/dev/null || true)
	[ -z "$ids" ] || $DOCKER rm -f -v $ids >/dev/null 2>&1 || true
	kill "$DOCKERD_PID" 2>/dev/null || true
	for _ in $(seq 40); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
	kill -9 "$DOCKERD_PID" 2>/dev/null || true
	wait "$DOCKERD_PID" 2>/dev/null || true
	DOCKERD_PID=
	umount -l "$RUNDIR/exec" 2>/dev/null || true
	rm -rf "$RUNDIR"
}

# ---------------------------------------------------------------- running
client() {
	local id=$1
	shift
	$DOCKER run --rm -i --runtime runc --network "container:$id" hrcompat/client "$@"
}

running() { [ "$($DOCKER inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

# wait_ready ID IMAGE: until the service answers (120 s), or the container exits.
wait_ready() {
	local id=$1 img=$2 probe
	probe=$(ready_"${img//-/_}")
	for _ in $(seq 120); do
		running "$id" || {
			echo "container exited ($($DOCKER inspect -f '{{.State.ExitCode}}' "$id"))"
			return 1
		}
		client "$id" sh -c "$probe" >/dev/null 2>&1 && return 0
		sleep 1
	done
	echo "service did not answer within 120 s"
	return 1
}

restart_and_wait() {
	local out
	out=$($DOCKER restart -t 60 "$1" 2>&1) || {
		echo "restart: $out"
		return 1
	}
	out=$(wait_ready "$1" "$2") || {
		echo "after restart: $out"
		return 1
	}
}

# norm: log lines without what differs between runs (numbers, ids).
norm() { sed -E 's/[0-9a-f]{6,}/#/g; s/[0-9]+/#/g'; }

# first_error ID IMAGE: the first line of the container's log that reads like
# an error (the strongest kind first: a PANIC after a harmless "error" line is
# what matters) and that the same image did not also log under runc, else
# its last line.
first_error() {
	local l p logs base=$WORK/log-$2-runc.txt
	logs=$($DOCKER logs "$1" 2>&1 || true)
	if [ -s "$base" ]; then
		logs=$(paste -d'\t' <(norm <<<"$logs") <(cat <<<"$logs") | awk -F'\t' 'NR == FNR { seen[$0] = 1; next } !($1 in seen) { print $2 }' <(norm <"$base") -)
	fi
	for p in 'PANIC|FATAL|\[emerg\]|\[crit\]|\[ERROR\]|Exception|Fatal error' 'ERROR|\[error\]|[Ee]rror:' \
		'denied|not permitted|Read-only|[Cc]annot|[Ff]ailed|[Aa]borted'; do
		l=$(grep -m1 -E "$p" <<<"$logs" || true)
		[ -n "$l" ] && break
	done
	[ -n "$l" ] || l=$(tail -1 <<<"$logs")
	echo "$l"
}

# md TEXT: one table cell: one line, no pipes, no container ids, Docker's
# boilerplate around a runtime error cut.
md() {
	tr '\n|' ' /' <<<"$*" | sed -E -e 's/container [0-9a-f]{12,64}[^:]*: //' -e 's/[0-9a-f]{64}//g' \
		-e 's/docker: Error response from daemon: failed to create shim task: OCI runtime create failed: //' \
		-e 's/[[:space:]]+/ /g' -e 's/^ //' -e 's/ $//' | cut -c1-300
}

declare -A RESULT ERR DIFF SYSCALLS
# leaves: `docker diff` lines without the directories that only changed
# because something below them did.
leaves() {
	awk '{ kind[NR] = $1; path[NR] = $2 } END {
		for (i = 1; i <= NR; i++) {
			parent = 0
			for (j = 1; j <= NR; j++) if (index(path[j], path[i] "/") == 1) { parent = 1; break }
			if (!(parent && kind[i] == "C")) print kind[i], path[i]
		}
	}'
}
# runflags IMAGE: the image's own `docker run` flags (runargs_X, and its
# STOPSIGNAL, which `docker import` cannot record) into RUNFLAGS.
runflags() {
	local fn=${1//-/_} sig
	RUNFLAGS=()
	if declare -F runargs_"$fn" >/dev/null; then read -ra RUNFLAGS <<<"$(runargs_"$fn")"; fi
	sig=$(changes_"$fn" 2>/dev/null | sed -n 's/^STOPSIGNAL //p')
	if [ -n "$sig" ]; then RUNFLAGS+=(--stop-signal "$sig"); fi
}
# run_case IMAGE COLUMN: start, wait, load; RESULT/ERR[IMAGE,COLUMN].
run_case() {
	local img=$1 col=$2 id="hrc-$1-$2" msg rt=() t
	t=$(date +%s)
	$DOCKER rm -f -v "$id" "$id-backend" >/dev/null 2>&1 || true
	# the daemon's default runtime runs the "hardened" column: no --runtime
	[ "$col" != hardened ] && rt=(--runtime "$col")
	runflags "$img"
	if ! msg=$($DOCKER run -d --name "$id" --network none "${rt[@]}" "${RUNFLAGS[@]}" "hrcompat/$img" 2>&1); then
		RESULT[$img,$col]=fails
		ERR[$img,$col]=$(md "docker run: $msg")
	else
		declare -F start_helpers_"${img//-/_}" >/dev/null && start_helpers_"${img//-/_}" "$id"
		if msg=$(wait_ready "$id" "$img") && msg=$(load_"${img//-/_}" "$id" 2>&1); then
			RESULT[$img,$col]=works
		else
			RESULT[$img,$col]=fails
			local le
			le=$(first_error "$id" "$img")
			ERR[$img,$col]=$(md "${msg:-load failed}${le:+ — log: $le}")
		fi
	fi
	[ "$col" = runc ] && DIFF[$img]=$($DOCKER diff "$id" 2>/dev/null | sort -k2 || true)
	$DOCKER logs "$id" >"$WORK/log-$img-$col.txt" 2>&1 || true
	$DOCKER rm -f -v "$id" "$id-backend" >/dev/null 2>&1 || true
	log "$img under $col: ${RESULT[$img,$col]} ($(($(date +%s) - t)) s) ${ERR[$img,$col]:-}"
}

# seclog IMAGE: run under the LOG-default profile and collect which syscalls
# the generated profile would have denied, by process name.
NR_NAMES=$WORK/nr.txt
# The kernel ring buffer is full on a busy host (a line count says nothing),
# so the new messages are followed while the image runs. Without auditd the
# kernel prints audit records through printk, rate-limited (printk_ratelimit:
# 10 per 5 s): a syscall seen once per process is enough here.
seclog() {
	local img=$1 lines follower
	dmesg --follow-new >"$WORK/kmsg-$img.txt" 2>/dev/null &
	follower=$!
	run_case "$img" hr-seclog
	sleep 1
	kill "$follower" 2>/dev/null || true
	wait "$follower" 2>/dev/null || true
	lines=$(grep 'type=1326' "$WORK/kmsg-$img.txt" | grep 'code=0x7ffc0000' || true)
	# Docker's own profile, as dockerd wrote it into the spec hardened-runc
	# was given (the forensic record keeps the original): which of the
	# logged syscalls Docker's default allows.
	if [ ! -s "$WORK/docker-allowed.txt" ]; then
		cat "$WORK"/forensics-hr-seclog/records-*.ndjson 2>/dev/null |
			jq -r 'select(.original.content.linux.seccomp != null) | .original.content.linux.seccomp.syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]' 2>/dev/null |
			sort -u >"$WORK/docker-allowed.txt" || true
	fi
	# Other containers on the host log too: keep the lines whose executable
	# is a file of this image.
	local files=$WORK/files-$img.txt tar
	read -r tar _ < <(image_tar "$img")
	tar -tf "$tar" | sed 's|^\./|/|' >"$files"
	SYSCALLS[$img]=$(grep -oE 'comm="[^"]*" exe="[^"]*".*syscall=[0-9]+' <<<"$lines" |
		sed -E 's/comm="([^"]*)" exe="([^"]*)".*syscall=([0-9]+)/\3 \1 \2/' | sort -u |
		while read -r nr comm exe; do
			grep -qxF "$exe" "$files" || continue
			echo "$(awk -v nr="$nr" '$2 == nr {print $1}' "$NR_NAMES" | grep . || echo "nr$nr") $comm"
		done | sort -u | awk '{ by[$1] = by[$1] (by[$1] == "" ? "" : ", ") $2 } END { for (n in by) print n, by[n] }' | sort |
		while read -r n comms; do
			local d="Docker's default denies it too"
			grep -qx "$n" "$WORK/docker-allowed.txt" && d="Docker's default allows it"
			echo "\`$n\` (by $comms; $d)"
		done | paste -sd'#' | sed 's/#/, /g' || true)
}

# ---------------------------------------------------------------- docker build
# build_row DEFAULT: the legacy builder (DOCKER_BUILDKIT=0) with DEFAULT as
# the daemon's default runtime. One build per kind of RUN step, so that each
# is judged on its own (a failing step stops a build), then one Dockerfile
# with all of them, and `docker run` of its result.
declare -A BUILD
BUILD_STEPS=(apt dpkg useradd usr all)
declare -A BUILD_WHAT=(
	[apt]='`RUN apt-get install -y ./hello.deb`'
	[dpkg]='`RUN dpkg -i hello.deb`'
	[useradd]='`RUN useradd -m app`'
	[usr]='`RUN` writing under /usr/local'
	[all]='all four, `USER app`, then `docker run` of the image'
)
build_dockerfile() {
	echo 'FROM hrcompat/base'
	echo 'COPY hello.deb /tmp/'
	case $1 in
	apt) echo 'RUN apt-get install -y /tmp/hello.deb && hello' ;;
	dpkg) echo 'RUN dpkg -i /tmp/hello.deb && hello' ;;
	useradd) echo 'RUN useradd -m app && id app' ;;
	usr) echo 'RUN mkdir -p /usr/local/share/app && echo built >/usr/local/share/app/stamp' ;;
	all)
		echo 'RUN apt-get install -y /tmp/hello.deb && rm /tmp/hello.deb && hello'
		echo 'RUN useradd -m app && id app'
		echo 'RUN mkdir -p /usr/local/share/app && echo built >/usr/local/share/app/stamp && chown -R app /usr/local/share/app'
		echo 'USER app'
		echo 'RUN echo "$(id -un) can write its home" >/home/app/ok'
		echo 'CMD ["sh", "-c", "hello && cat /usr/local/share/app/stamp /home/app/ok"]'
		;;
	esac
}
build_row() {
	local def=$1 ctx=$WORK/build step out l
	for step in "${BUILD_STEPS[@]}"; do
		rm -rf "$ctx" && mkdir -p "$ctx"
		cp "$(ls "$CACHE"/hello/hello_*.deb | sed -n 1p)" "$ctx/hello.deb"
		build_dockerfile "$step" >"$ctx/Dockerfile"
		if out=$(DOCKER_BUILDKIT=0 $DOCKER build --network none --no-cache -t "hrcompat/built-$step" "$ctx" 2>&1) &&
			{ [ "$step" != all ] || { out=$($DOCKER run --rm --network none hrcompat/built-all 2>&1) && grep -q 'can write its home' <<<"$out"; }; }; then
			BUILD[$def,$step]=works
		else
			out=$(sed 's/\x1b\[[0-9;]*m//g' <<<"$out")
			l=$(grep -v '^The command' <<<"$out" | grep -m1 -E '^E: |^dpkg: error|Read-only|cannot|denied|not permitted|[Ee]rror' || true)
			[ -n "$l" ] || l=$(tail -1 <<<"$out")
			BUILD[$def,$step]="fails: $(md "$l")"
		fi
		$DOCKER rmi -f "hrcompat/built-$step" >/dev/null 2>&1 || true
		log "docker build ($step) with default-runtime $def: ${BUILD[$def,$step]}"
	done
}

# ---------------------------------------------------------------- rollout
# Issue 13's rollout on real images, as an admin would do it, through the
# hr-rollout runtime (its own config, profiles and forensics):
#   1. audit: a profile extending default with rootfs.readonly and
#      seccomp.strict audited, selected by image; the image runs its load
#      ROLLOUT_RUNS times, each container stopped and removed (the runtime's
#      delete collects the evidence into the record);
#   2. the records: `hardenctl forensics show ID` (every launch of the
#      container; postgres restarts once in its load) and `hardenctl why ID`;
#   3. `hardenctl image list`, `hardenctl image profile IMAGE`, installed
#      and selected by image in place of the audit rule;
#   4. enforce: the same load under the generated profile, the record's
#      hardened spec and notes checked, a write outside its writable paths.
# Everything lands in $WORK/rollout.md, COMPAT.md's rollout section.
ROLLOUT_RUNS=${COMPAT_ROLLOUT_RUNS:-3}
RCFG=$WORK/config-hr-rollout.toml
ROLL_MD=$WORK/rollout.md
rctl() { HARDENED_RUNC_CONFIG=$RCFG "$HR_BIN/hardenctl" "$@"; }
rmd() { printf '%s\n' "$@" >>"$ROLL_MD"; }
# fence TEXT...: a Markdown code block.
fence() {
	rmd '```'
	printf '%s\n' "$@" | sed 's/^```/` ``/' >>"$ROLL_MD"
	rmd '```'
}

# rollout_select "PROFILE IMAGE"...: the hr-rollout config with one
# [[select]] rule per argument, in order, after the config write_configs
# made. hardenctl loads the new config first (it refuses a rule on the
# image that picks a profile weaker than a later rule or the default); when
# refused, the old config stays and the error is printed.
rollout_select() {
	local base=$RCFG.base r p i out
	[ -f "$base" ] || cp "$RCFG" "$base"
	{
		cat "$base"
		for r in "$@"; do
			read -r p i <<<"$r"
			printf '\n[[select]]\nprofile = "%s"\nimage = "%s"\n' "$p" "$i"
		done
	} >"$RCFG.new"
	if ! out=$(HARDENED_RUNC_CONFIG=$RCFG.new "$HR_BIN/hardenctl" profile list 2>&1 >/dev/null); then
		rm -f "$RCFG.new"
		echo "$out"
		return 1
	fi
	mv "$RCFG.new" "$RCFG"
}

# roll_case IMAGE NAME: runs hrcompat/IMAGE as NAME under hr-rollout with
# its load and leaves it running; ROLL_RES works/fails, ROLL_ERR why.
roll_case() {
	local img=$1 name=$2 msg
	$DOCKER rm -f -v "$name" "$name-backend" >/dev/null 2>&1 || true
	runflags "$img"
	if ! msg=$($DOCKER run -d --name "$name" --network none --runtime hr-rollout "${RUNFLAGS[@]}" "hrcompat/$img" 2>&1); then
		ROLL_RES=fails
		ROLL_ERR=$(md "docker run: $msg")
		return 0
	fi
	if declare -F start_helpers_"${img//-/_}" >/dev/null; then start_helpers_"${img//-/_}" "$name"; fi
	if msg=$(wait_ready "$name" "$img") && msg=$(load_"${img//-/_}" "$name" 2>&1); then
		ROLL_RES=works
		ROLL_ERR=
	else
		ROLL_RES=fails
		ROLL_ERR=$(md "${msg:-load failed} — log: $(first_error "$name" "$img")")
	fi
}

# roll_stop NAME: stops the container and waits (20 s) until its newest
# record is a delete: the evidence is collected then. Then removes it.
roll_stop() {
	local name=$1 id
	id=$($DOCKER inspect -f '{{.Id}}' "$name" 2>/dev/null) || return 0
	$DOCKER stop -t 60 "$name" >/dev/null 2>&1 || true
	for _ in $(seq 40); do
		[ "$(rctl forensics show "$id" --output json 2>/dev/null | jq -r '.[0].verb' 2>/dev/null)" = delete ] && break
		sleep 0.5
	done
	$DOCKER rm -f -v "$name" "$name-backend" >/dev/null 2>&1 || true
}

# audit_notes ID PREFIX: the distinct notes starting with PREFIX in the
# container's delete records (every launch of it).
audit_notes() {
	rctl forensics show "$1" --output json 2>/dev/null |
		jq -r --arg p "$2" '.[] | select(.verb == "delete") | .notes[]? | select(startswith($p)) | ltrimstr($p)' | sort -u || true
}

# roll_audit IMAGE WANT: the audited runs; WANT is what the evidence must
# name (a path prefix or a syscall).
roll_audit() {
	local img=$1 want=$2 i name id ev inc why_ok named=0 incomplete=0
	rmd "1. **Audit.** Profile \`rollout-audit\` (\`extends = \"default\"\`, \`rootfs.readonly = \"audit\"\`, \`seccomp.strict = \"audit\"\`), selected by \`image = \"hrcompat/$img\"\`; $ROLLOUT_RUNS runs with the load of the table above, each container stopped and removed:"
	rmd ""
	rmd "   | run | load | evidence in the delete records (\`hardenctl forensics show ID\`) | names \`$want\` | \`hardenctl why ID\` (latest launch) names it | evidence incomplete |"
	rmd "   |---|---|---|---|---|---|"
	for i in $(seq "$ROLLOUT_RUNS"); do
		name=hrr-$img-audit-$i
		roll_case "$img" "$name"
		id=$($DOCKER inspect -f '{{.Id}}' "$name" 2>/dev/null || echo "")
		roll_stop "$name"
		ev=$(audit_notes "$id" "audit finding ")
		inc=$(audit_notes "$id" "audit evidence incomplete: ")
		why_ok=$(rctl why "$id" --output json 2>/dev/null | jq -r '.[] | select(.mode == "audit") | .evidence[]' || true)
		if grep -qF "$want" <<<"$why_ok"; then why_ok=yes; else why_ok=no; fi
		if grep -qF "$want" <<<"$ev"; then named=$((named + 1)); fi
		if [ -n "$inc" ]; then incomplete=$((incomplete + 1)); fi
		log "rollout $img audit run $i: $ROLL_RES ${ROLL_ERR:-}; $(grep -cF "$want" <<<"$ev" || true) evidence lines name $want${inc:+; incomplete: $inc}"
		printf '   | %s | %s | %s | %s | %s | %s |\n' "$i (\`${id:0:12}\`)" \
			"$([ "$ROLL_RES" = works ] && echo works || echo "**fails**: $ROLL_ERR")" \
			"$(if [ -n "$ev" ]; then head -20 <<<"$ev" | sed 's/^/`/; s/$/`/' | paste -sd'#' | sed 's/#/<br>/g'; else echo none; fi)" \
			"$(grep -qF "$want" <<<"$ev" && echo yes || echo **no**)" "$why_ok" "$(md "${inc:-no}")" >>"$ROLL_MD"
	done
	rmd ""
	ROLL_NAMED[$img]="$named of $ROLLOUT_RUNS"
	ROLL_INCOMPLETE[$img]=$incomplete
}

# roll_generate IMAGE: image list, image profile, installed and selected
# after the rules of the images rolled out before (ROLL_RULES).
roll_generate() {
	local img=$1 list row prof
	list=$(rctl image list 2>&1 || true)
	row=$(rctl image list --output json 2>/dev/null | jq -c --arg i "hrcompat/$img" '.[] | select(.image == $i)' || true)
	[ -n "$row" ] || row='{}'
	ROLL_READY[$img]=$(jq -r 'if .ready then "yes" else "no: " + ((.not_ready // ["no report of the image"]) | join("; ")) end' <<<"$row" 2>/dev/null || echo "no report")
	rmd "2. **\`hardenctl image list\`** after the audited runs: ready: ${ROLL_READY[$img]}."
	rmd ""
	fence "$(grep -E "^IMAGE|^hrcompat/$img " <<<"$list")"
	rmd ""
	if ! prof=$(rctl image profile "hrcompat/$img" --name "img-$img" 2>&1); then
		rmd "3. **\`hardenctl image profile hrcompat/$img\`** failed: $(md "$prof")"
		rmd ""
		return 1
	fi
	printf '%s\n' "$prof" >"$WORK/profiles-rollout/img-$img.toml"
	ROLL_TMPFS[$img]=$(sed -n 's/^tmpfs = //p' <<<"$prof")
	ROLL_ALLOW[$img]=$(awk '/^\[seccomp\]/ { s = 1 } s && /^allow = / { sub(/^allow = /, ""); print }' <<<"$prof")
	rmd "3. **\`hardenctl image profile hrcompat/$img --name img-$img\`**, installed as \`img-$img.toml\` in the profiles directory and selected by \`image = \"hrcompat/$img\"\` in place of the audit rule: writable paths (tmpfs) \`${ROLL_TMPFS[$img]:-none}\`, syscalls allowed beyond the cuts \`${ROLL_ALLOW[$img]:-none}\`."
	rmd ""
	fence "$prof"
	rmd ""
	local err
	if ! err=$(rctl profile validate "$WORK/profiles-rollout/img-$img.toml" 2>&1); then
		rmd "   \`hardenctl profile validate\` refuses it: $(md "$err")"
		rmd ""
		return 1
	fi
	if ! err=$(rollout_select "${ROLL_RULES[@]}" "img-$img hrcompat/$img"); then
		rmd "   The config selecting it is refused: $(md "$err")"
		rmd ""
		return 1
	fi
}

# roll_enforce IMAGE: the load under the generated profile, what the record
# says was enforced, and a write outside the writable paths.
roll_enforce() {
	local img=$1 name id rec ro strict allowed cut oops rc probe dir why s
	name=hrr-$img-enforce
	roll_case "$img" "$name"
	ROLL_ENFORCE[$img]=$ROLL_RES
	id=$($DOCKER inspect -f '{{.Id}}' "$name" 2>/dev/null || echo "")
	rmd "4. **Enforce.** The same load under \`img-$img\` (container \`${id:0:12}\`): $([ "$ROLL_RES" = works ] && echo "**works**" || echo "**fails**: $ROLL_ERR")."
	# the newest create record of the container: profile, hardened spec, notes
	rec=$(rctl forensics show "$id" --output json 2>/dev/null | jq -c '[.[] | select(.verb == "create" or .verb == "run")][0] // {}' || true)
	[ -n "$rec" ] || rec='{}'
	ro=$(jq -r '.hardened.content.root.readonly // false' <<<"$rec")
	strict=$(jq -r '.notes[]? | select(startswith("seccomp controls: "))' <<<"$rec")
	allowed=$(jq -r '.hardened.content.linux.seccomp.syscalls[]? | select(.action == "SCMP_ACT_ALLOW") | .names[]' <<<"$rec" | sort -u)
	cut=
	for s in sync_file_range readahead msgget mq_open pkey_alloc ioprio_set; do
		grep -qx "$s" <<<"$allowed" || cut+="${cut:+, }$s"
	done
	local granted=
	for s in $(tr -d '[]",' <<<"${ROLL_ALLOW[$img]:-}"); do
		if grep -qx "$s" <<<"$allowed"; then granted+="${granted:+, }\`$s\`"; else granted+="${granted:+, }\`$s\` **not allowed**"; fi
	done
	rmd "   - record (\`hardenctl forensics show ${id:0:12}\`, latest create): profile \`$(jq -r '.profile.name // "?"' <<<"$rec")\`, \`root.readonly\` $ro, \`$strict\`; of the strict cuts sampled, denied by its filter: ${cut:-none}; the generated allows in its filter: ${granted:-none (the profile allows nothing beyond the cuts)}"
	why=$(rctl why "$id" --output json 2>/dev/null | jq -r '.[] | select(.mode == "enforce") | .control' | paste -sd, || true)
	rmd "   - \`hardenctl why ${id:0:12}\` names as enforced: \`${why:-nothing}\`"
	ROLL_ENFORCED[$img]=no
	[ "$ro" = true ] && [[ $strict == *strict=enforce* ]] && ROLL_ENFORCED[$img]=yes
	if running "$name"; then
		rc=0
		oops=$($DOCKER exec "$name" sh -c 'echo x > /etc/oops' 2>&1) || rc=$?
		ROLL_OOPS[$img]=$([ "$rc" != 0 ] && grep -q 'Read-only file system' <<<"$oops" && echo fails || echo "**did not fail**")
		rmd "   - \`docker exec ${id:0:12} sh -c 'echo x > /etc/oops'\`: exit $rc, \`$(md "$oops")\`"
		for dir in $(tr -d '[]",' <<<"${ROLL_TMPFS[$img]}"); do
			case $dir in /tmp | /run | /var/tmp) continue ;; esac
			rc=0
			probe=$($DOCKER exec "$name" sh -c "echo x > $dir/.hr-probe && rm $dir/.hr-probe && echo written" 2>&1) || rc=$?
			rmd "   - a write in the generated writable path \`$dir\`: exit $rc, \`$(md "$probe")\`"
		done
	else
		ROLL_OOPS[$img]="not tried (the container is not running)"
		rmd "   - the container is not running: the write probe was not tried"
	fi
	roll_stop "$name"
	rmd ""
	log "rollout $img enforce: $ROLL_RES ${ROLL_ERR:-}; enforced: ${ROLL_ENFORCED[$img]}; /etc/oops ${ROLL_OOPS[$img]}"
}

declare -A ROLL_NAMED ROLL_INCOMPLETE ROLL_READY ROLL_TMPFS ROLL_ALLOW ROLL_ENFORCE ROLL_ENFORCED ROLL_OOPS
ROLL_BOTH=
ROLL_RULES=() # "img-X hrcompat/X" of the images enforced so far
rollout() {
	local img want t
	mkdir -p "$WORK/profiles-rollout"
	printf '%s\n' 'description = "rollout: audit the read-only root and the seccomp cuts servers rarely make"' \
		'extends = "default"' '[rootfs]' 'readonly = "audit"' '[seccomp]' 'strict = "audit"' >"$WORK/profiles-rollout/rollout-audit.toml"
	: >"$ROLL_MD"
	for img in "${ROLLOUT_IMAGES[@]}"; do
		t=$(date +%s)
		want=sync_file_range
		[ "$img" = nginx ] && want=/var/lib/nginx/
		rmd "### $img" ""
		local err
		if ! err=$(rollout_select "${ROLL_RULES[@]}" "rollout-audit hrcompat/$img"); then
			rmd "The config selecting \`rollout-audit\` by image is refused: $(md "$err")" ""
			log "rollout $img: audit config refused: $err"
			continue
		fi
		roll_audit "$img" "$want"
		if roll_generate "$img"; then
			ROLL_RULES+=("img-$img hrcompat/$img")
			roll_enforce "$img"
		fi
		log "rollout $img: $(($(date +%s) - t)) s"
	done
	# The per-image profiles side by side in one config, as a host running
	# both images has them (each image's enforced run had the earlier
	# images' rules before its own).
	if ((${#ROLL_RULES[@]} > 1)); then
		local err
		if err=$(rollout_select "${ROLL_RULES[@]}"); then
			ROLL_BOTH="accepted: $(printf '`%s`, ' "${ROLL_RULES[@]}" | sed 's/, $//')"
		else
			ROLL_BOTH="refused: $(md "$err")"
		fi
		log "rollout: one config selecting ${ROLL_RULES[*]}: $ROLL_BOTH"
	fi
}

# rollout_section: COMPAT.md's rollout section.
rollout_section() {
	local img
	echo
	echo "## Rollout: audit → per-image profile → enforce"
	echo
	echo "The two images that the strict controls break when enforced blindly (issue"
	echo "13), rolled out as docs/policy.md (\"Rolling out\") tells an admin to: hardened-runc"
	echo "$("$HR_BIN/hardened-runc" --version 2>/dev/null | head -1 | sed 's/.*version //') over \`$RUNC11\`, registered as the runtime \`hr-rollout\` with its own"
	echo "config, profiles directory and forensics directory (\`hardenctl image\` sees"
	echo "only these launches), images selected by \`[[select]] image = ...\` (read"
	echo "from dockerd's config.v2.json). The kernel's seccomp reports are read"
	echo "from /dev/kmsg (no auditd here), where printk rate-limits them to"
	echo "$(cat /proc/sys/kernel/printk_ratelimit_burst) per $(cat /proc/sys/kernel/printk_ratelimit) s across the host, in a ring buffer of $(($(dmesg -S 2>/dev/null | wc -c) / 1024)) KiB of text:"
	echo "a launch that calls a logged syscall more often loses reports, and its"
	echo "record says so (\"evidence incomplete\"); raising the burst only moves the"
	echo "loss to the ring buffer (docs/seccomp.md, \"Audit mode\"). With auditd"
	echo "running the kernel sends the records to it and /dev/kmsg has none"
	echo "(\`ausearch -m SECCOMP\` finds them; hardened-runc does not read them yet)."
	echo
	echo "A run is one container; postgres' load restarts it (\`docker restart\`), so each"
	echo "postgres run is two launches, and \`hardenctl image\` counts launches."
	echo
	echo "| image | audit evidence names | runs with evidence incomplete | \`image list\` ready | generated writable paths | generated syscall allows | enforced (read-only root, seccomp.strict) | load under enforce | \`echo x > /etc/oops\` |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for img in "${ROLLOUT_IMAGES[@]}"; do
		local want=sync_file_range ready=${ROLL_READY[$img]:-not reached}
		[ "$img" = nginx ] && want=/var/lib/nginx/...
		printf '| %s | `%s`: %s runs | %s | %s | `%s` | `%s` | %s | %s | %s |\n' "$img" "$want" "${ROLL_NAMED[$img]:-0}" \
			"${ROLL_INCOMPLETE[$img]:-?}" "$(md "${ready%% (*}")" "${ROLL_TMPFS[$img]:--}" "${ROLL_ALLOW[$img]:--}" \
			"${ROLL_ENFORCED[$img]:-not reached}" "${ROLL_ENFORCE[$img]:-not reached}" "${ROLL_OOPS[$img]:-not reached}"
	done
	[ -z "${ROLL_BOTH:-}" ] || {
		echo
		echo "One config selecting both generated profiles by image: $ROLL_BOTH"
	}
	echo
	cat "$ROLL_MD"
}

# ---------------------------------------------------------------- main
base_root
# hello for the docker build row, downloaded into the shared archive.
ls "$CACHE"/hello/hello_*.deb >/dev/null 2>&1 || {
	mkdir -p "$CACHE/hello"
	chroot "$CACHE/base" sh -c 'cd /tmp && apt-get download -q hello' >/dev/null || die "apt-get download hello failed"
	mv "$CACHE"/base/tmp/hello_*.deb "$CACHE/hello/"
}
grep -E '^#define __NR_' /usr/include/x86_64-linux-gnu/asm/unistd_64.h | awk '{sub("__NR_", "", $2); print $2, $3}' >"$NR_NAMES" 2>/dev/null || : >"$NR_NAMES"

write_configs
write_profiles
start_dockerd hardened
ids=$($DOCKER ps -aq)
[ -n "$ids" ] && $DOCKER rm -f -v $ids >/dev/null
for img in base client python $IMAGES; do import "$img"; done
log "images ready"

MAIN_COLS=()
for c in "${COLUMNS[@]}"; do
	read -r name _ <<<"$c"
	[[ $name == hr-* ]] || MAIN_COLS+=("$name")
done
for img in $IMAGES; do
	for col in "${MAIN_COLS[@]}"; do run_case "$img" "$col"; done
	if [ -z "${COMPAT_NO_DIAG:-}" ]; then
		seclog "$img"
		if [ "${RESULT[$img,hardened]}" = fails ]; then
			for d in "${DIAG[@]}"; do run_case "$img" "$d"; done
		fi
	fi
done
if ((${#ROLLOUT_IMAGES[@]})); then rollout; fi
BUILD_COLS=()
for col in "${MAIN_COLS[@]}"; do
	stop_dockerd
	start_dockerd "$col"
	build_row "$col"
	BUILD_COLS+=("$col")
done

# ---------------------------------------------------------------- report
notes() {
	cat <<-'EOF'

		## How to read this

		- *works* means the load passed: every request answered as expected, data
		  still there after `docker restart` where the row says so. A service that
		  answers while losing data (PHP sessions that cannot be written) fails.
		- The first error is the first line of the container's log that reads like an
		  error, the strongest kind first (PANIC, FATAL, `[emerg]`, `[ERROR]` before
		  warnings), leaving out lines the same image also logs under runc (Apache's
		  `AH00558`).
		- The diagnosis runs use profiles extending `default` with one control
		  relaxed, on the same hardened-runc build as the `hardened` column; an image
		  that works again under exactly one of them is broken by that control.
		- The seccomp log run uses the generated profile with `SCMP_ACT_LOG` as default
		  action and the root as Docker leaves it, so the image reaches its load. It
		  follows new kernel messages while the image runs (`dmesg --follow-new`);
		  without auditd the kernel prints audit records through printk, limited to
		  10 per 5 s (printk_ratelimit) across the host, so on a busy host a syscall
		  can go unlogged. Lines whose `exe` is not a file of the image (other
		  containers on the host) are left out. A host with auditd gets them in
		  /var/log/audit/audit.log instead (`ausearch -m SECCOMP`); journald with its
		  audit socket keeps them as `journalctl _TRANSPORT=audit`.
		- *Writes* come from `docker diff` under runc after the load: the image's own
		  files the service changed. Volumes are not in it.
	EOF
}

{
	echo "# Compatibility corpus"
	echo
	echo "Generated by \`sudo make compat\` (scripts/compat.sh) on $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'),"
	echo "hardened-runc $("$HR_BIN/hardened-runc" --version 2>/dev/null | sed -n 1p | sed 's/.*version //'), $("$RUNC11" --version | sed -n 1p)$([ -x "$RUNC15" ] && echo ", $("$RUNC15" --version | sed -n 1p)"), $($DOCKER version -f 'dockerd {{.Server.Version}}' 2>/dev/null)."
	echo "Run time: $(($(date +%s) - T0)) s."
	echo
	echo "Each image is built from Debian bookworm's packages (debootstrap, then"
	echo "\`apt-get install\` in a copy, then \`docker import\` with the CMD, ENTRYPOINT,"
	echo "USER, WORKDIR, VOLUME and STOPSIGNAL the official image has; the official"
	echo "entrypoint scripts are reproduced, shortened). Each runs with \`--network none\`;"
	echo "the load runs in a client container under runc that joins its network"
	echo "namespace. Columns:"
	echo
	for c in "${COLUMNS[@]}"; do
		read -r name bin lower prof <<<"$c"
		[[ $name == hr-* ]] && continue
		if [ "$name" = runc ]; then
			echo "- **runc**: \`docker run --runtime runc\`, Docker's defaults ($("$RUNC11" --version | sed -n 1p))."
		else
			echo "- **$name**: hardened-runc $("$bin/hardened-runc" --version 2>/dev/null | sed -n 1p | sed 's/.*version //') ($bin/hardened-runc) over \`$lower\`, profile \`$prof\`$([ "$name" = hardened ] && echo ", as the daemon's \`default-runtime\` (no \`--runtime\` flag)")."
		fi
	done
	echo
	echo "## Results"
	echo
	printf '| image | what the load checks |'
	for col in "${MAIN_COLS[@]}"; do printf ' %s |' "$col"; done
	echo
	printf '|---|---|'
	for col in "${MAIN_COLS[@]}"; do printf -- '---|'; done
	echo
	declare -A WHAT=(
		[nginx]="300 GETs; 20 × 1 MiB POST through its proxy (client body temp file); 10 × 4 MiB GET through the proxy (proxy temp file)"
		[postgres]="initdb into the volume; pgbench -i -s 5, pgbench 10 s × 4 clients; CHECKPOINT; docker restart; count rows"
		[redis]="redis-benchmark 20000 × set/get/lpush/incr; BGSAVE (fork, rdb in /data); restart; DBSIZE"
		[java]="OpenJDK 17 HTTP server: 400 requests, 1 MiB allocated and hashed per request"
		[php-apache]="Apache + mod_php: 200 requests with a session (Debian's session dir), tmp file per request; 2 MB upload"
		[php-fpm]="php-fpm8.2 on :9000: 200 FastCGI requests in one session (Debian's session dir), a tmp file each"
		[mariadb]="install db into the volume with a temporary server; create table, 20000 inserts; slow shutdown + restart; count"
		[memcached]="5000 × set 10 kB, 5000 × get, as USER memcache"
		[haproxy]="USER haproxy, -W -db: 500 requests balanced over two python backends"
		[python]="python3 -m http.server: 300 GETs, a 2 MiB file"
		[node]="Node.js 18: 1000 requests, each writing a tmp file, gzip and crypto"
	)
	for img in $IMAGES; do
		printf '| %s | %s |' "$img" "${WHAT[$img]}"
		for col in "${MAIN_COLS[@]}"; do
			if [ "${RESULT[$img,$col]}" = works ]; then printf ' works |'; else printf ' **fails**: %s |' "${ERR[$img,$col]}"; fi
		done
		echo
	done
	if [ -z "${COMPAT_NO_DIAG:-}" ]; then
		echo
		echo "Under \`hardened\` (profile \`default\`, runc 1.1), from the runs below:"
		echo
		any=
		for img in $IMAGES; do
			[ "${RESULT[$img,hardened]}" = fails ] || continue
			any=1
			fixes=()
			for d in "${DIAG[@]}"; do [ "${RESULT[$img,$d]:-}" = works ] && fixes+=("${DIAG_WHAT[$d]}"); done
			printf -- '- **%s** fails; ' "$img"
			if ((${#fixes[@]})); then
				printf 'works again with: %s' "$(printf '%s; ' "${fixes[@]}" | sed 's/; $//')"
			else
				printf 'no single relaxed control makes it work'
			fi
			echo "."
		done
		[ -n "$any" ] || echo "- every image works."
	fi
	echo
	echo "### \`docker build\` (legacy builder, \`DOCKER_BUILDKIT=0\`)"
	echo
	echo "The daemon restarted with each runtime as \`default-runtime\`, then"
	echo "\`docker build --network none\` of \`FROM\` the bookworm base, \`COPY\` Debian's"
	echo "hello .deb into the context (no network in the build), and one kind of"
	echo "\`RUN\` step per build:"
	echo
	printf '| default-runtime |'
	for step in "${BUILD_STEPS[@]}"; do printf ' %s |' "${BUILD_WHAT[$step]}"; done
	echo
	printf '|---|'
	for step in "${BUILD_STEPS[@]}"; do printf -- '---|'; done
	echo
	for col in "${BUILD_COLS[@]}"; do
		printf '| %s |' "$col"
		for step in "${BUILD_STEPS[@]}"; do printf ' %s |' "${BUILD[$col,$step]}"; done
		echo
	done
	if [ -z "${COMPAT_NO_DIAG:-}" ]; then
		echo
		echo "## Which control breaks what"
		echo
		echo "Every image that fails under \`hardened\` (profile \`default\`, runc 1.1) is run again"
		echo "with one strict control relaxed at a time (a profile extending \`default\`):"
		echo
		printf '| image |'
		for d in "${DIAG[@]}"; do printf ' %s |' "${DIAG_WHAT[$d]}"; done
		echo
		printf '|---|'
		for d in "${DIAG[@]}"; do printf -- '---|'; done
		echo
		any=
		for img in $IMAGES; do
			[ "${RESULT[$img,hardened]}" = fails ] || continue
			any=1
			printf '| %s |' "$img"
			for d in "${DIAG[@]}"; do
				if [ "${RESULT[$img,$d]}" = works ]; then printf ' **works** |'; else printf ' fails: %s |' "$(cut -c1-120 <<<"${ERR[$img,$d]}")"; fi
			done
			echo
		done
		[ -n "$any" ] || echo "| (every image works under \`default\`) |"
		echo
		echo "## Per image: what it writes, which syscalls the generated profile denies"
		echo
		echo "*Writes* is \`docker diff\` after the load under runc: paths changed in the"
		echo "image's own files (volumes and Docker's /etc/hosts, resolv.conf, hostname are"
		echo "not in it). Under a read-only root each must be a tmpfs, a volume, or fail."
		echo "*Syscalls* are those the \`default\` profile's generated seccomp filter would"
		echo "have denied (EPERM), by process name: the image ran under the same filter"
		echo "with \`SCMP_ACT_LOG\` as default action and the kernel's audit lines"
		echo "(type=1326, code=0x7ffc0000) were read from dmesg; no auditd needed."
		echo
		for img in $IMAGES; do
			echo "### $img"
			echo
			local_diff=$(grep -vE ' /(tmp|run|var/tmp)(/|$)' <<<"${DIFF[$img]:-}" | grep -v '^$' | leaves || true)
			if [ -n "$local_diff" ]; then
				echo "- writes outside /tmp, /run, /var/tmp (A added, C changed, D deleted; parent directories left out):"
				sed 's/^\([ACD]\) \(.*\)/  - `\1 \2`/' <<<"$local_diff" | head -40
			else
				echo "- writes outside /tmp, /run, /var/tmp: none"
			fi
			tdiff=$(grep -E ' /(tmp|run|var/tmp)/' <<<"${DIFF[$img]:-}" | head -12 | sed 's/^\(.*\)$/`\1`/' | paste -sd' ' || true)
			[ -n "$tdiff" ] && echo "- under /tmp, /run, /var/tmp (a tmpfs under \`default\`; C: the path is in the image, and a tmpfs there hides it): $tdiff"
			echo "- syscalls the generated profile denies: ${SYSCALLS[$img]:-none logged}"
			if [ "${RESULT[$img,hr-seclog]:-}" = fails ]; then
				echo "- (under the logging profile it still failed: ${ERR[$img,hr-seclog]})"
			fi
			echo
		done
	fi
	if ((${#ROLLOUT_IMAGES[@]})); then rollout_section; fi
	notes
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "wrote $OUT"
