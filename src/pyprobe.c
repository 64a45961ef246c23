// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pyprobe.h"
#include "util.h"
#include "pyusdt.skel.h"

#define MAX_LINKS 16

struct pyprobe {
	struct pyusdt_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	int own_fd[4 * MAX_LINKS + 1];	/* the fds attaching opened (perf events, links) */
	int nown;
	uint32_t attached;		/* MPX_PYP_* */
	uint32_t missing;		/* wanted, not available */
	char bin[PATH_MAX];		/* the interpreter */
	char lib[PATH_MAX];		/* its libpython, or "" */
	char note[1024];
};

/* Append to the note (printf-like); the note is cut, never overrun. */
static void note_add(struct pyprobe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note_add(struct pyprobe *p, const char *fmt, ...)
{
	size_t len = strlen(p->note);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->note + len, sizeof(p->note) - len, fmt, ap);
	va_end(ap);
}

/* snprintf for a path into a buffer: cut when too long. */
static void fmt_to(char *out, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fmt_to(char *out, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, sz, fmt, ap);
	va_end(ap);
}

/* ---- which python ----------------------------------------------------- */

static bool is_exec_file(const char *path)
{
	return !access(path, X_OK) && !access(path, R_OK);
}

/* PATH lookup as execvp does it. */
static bool lookup(const char *name, char *out, size_t sz)
{
	const char *path = getenv("PATH"), *p, *e;

	if (strchr(name, '/')) {
		fmt_to(out, sz, "%s", name);
		return is_exec_file(out);
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, ':');
		fmt_to(out, sz, "%.*s/%s", (int)(e - p), e > p ? p : ".", name);
		if (is_exec_file(out))
			return true;
	}
	return false;
}

/* pyenv's shim: `exec "PYENV/libexec/pyenv" exec "$program" "$@"`; ask it. */
static bool pyenv_shim(const char *script, const char *text, char *out, size_t sz)
{
	const char *x = strstr(text, "exec \""), *y;
	char cmd[PATH_MAX + 128], prog[256];
	FILE *f;
	bool ok = false;

	if (!x || !strstr(text, "pyenv"))
		return false;
	x += 6;
	y = strchr(x, '"');
	if (!y || y - x > PATH_MAX || memchr(x, '\'', (size_t)(y - x)))
		return false;
	fmt_to(prog, sizeof(prog), "%s", strrchr(script, '/') ? strrchr(script, '/') + 1 :
		 script);
	if (strspn(prog, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	    strlen(prog))
		return false;
	fmt_to(cmd, sizeof(cmd), "'%.*s' which '%s' 2>/dev/null", (int)(y - x), x, prog);
	f = popen(cmd, "re");
	if (!f)
		return false;
	if (fgets(out, (int)sz, f)) {
		out[strcspn(out, "\n")] = '\0';
		ok = out[0] == '/' && is_exec_file(out);
	}
	pclose(f);
	return ok;
}

bool pyprobe__resolve(const char *arg0, char *bin, size_t binsz, char *why, size_t whysz)
{
	char cur[PATH_MAX], buf[4096];
	int depth, fd;
	ssize_t n;

	if (!lookup(arg0, cur, sizeof(cur))) {
		fmt_to(why, whysz, "%s: not found", arg0);
		return false;
	}
	for (depth = 0; depth < 4; depth++) {
		char *nl, *interp, *arg;

		fd = open(cur, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fmt_to(why, whysz, "%s: %s", cur, strerror(errno));
			return false;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 4) {
			fmt_to(why, whysz, "%s: not a program mpxtrace can read", cur);
			return false;
		}
		buf[n] = '\0';
		if (!memcmp(buf, "\177ELF", 4)) {
			fmt_to(bin, binsz, "%s", cur);
			return true;
		}
		if (buf[0] != '#' || buf[1] != '!') {
			fmt_to(why, whysz, "%s: neither a program nor a #! script", cur);
			return false;
		}
		nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
		interp = buf + 2 + strspn(buf + 2, " \t");
		arg = interp + strcspn(interp, " \t");
		if (*arg)
			*arg++ = '\0';
		arg += strspn(arg, " \t");
		arg[strcspn(arg, " \t")] = '\0';
		if (!strcmp(strrchr(interp, '/') ? strrchr(interp, '/') + 1 : interp, "env")) {
			char name[PATH_MAX];

			if (!strcmp(arg, "-S") || !*arg) {
				fmt_to(why, whysz, "%s: #!%s %s: interpreter not understood", cur,
					 interp, arg);
				return false;
			}
			fmt_to(name, sizeof(name), "%s", arg);
			if (!strcmp(name, "bash") || !strcmp(name, "sh")) {
				if (nl && pyenv_shim(cur, nl + 1, bin, binsz))
					return true;
			}
			if (!lookup(name, cur, sizeof(cur))) {
				fmt_to(why, whysz, "%s: not found", name);
				return false;
			}
			continue;
		}
		if ((strstr(interp, "bash") || !strcmp(interp, "/bin/sh")) && nl &&
		    pyenv_shim(cur, nl + 1, bin, binsz))
			return true;
		fmt_to(cur, sizeof(cur), "%s", interp);
	}
	fmt_to(why, whysz, "%s: too many #! levels", arg0);
	return false;
}

/* ---- what the binary holds -------------------------------------------- */

struct elf_facts {
	bool usdt;			/* .note.stapsdt with provider python */
	char needed_py[128];		/* DT_NEEDED libpython*, or "" */
	char runpath[1024];		/* DT_RUNPATH or DT_RPATH */
	long take_gil;			/* file offset of take_gil, or -1 */
	long restore;			/* ... of PyEval_RestoreThread, or -1 */
};

static long sym_offset(Elf *e, const GElf_Sym *sym)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (sym->st_value >= sh.sh_addr && sym->st_value < sh.sh_addr + sh.sh_size)
			return (long)(sym->st_value - sh.sh_addr + sh.sh_offset);
	}
	return -1;
}

static void scan_syms(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct elf_facts *f)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	GElf_Sym sym;

	for (i = 0; d && i < n; i++) {
		const char *name;

		if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    !sym.st_value)
			continue;
		name = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!name)
			continue;
		if (f->take_gil < 0 && !strcmp(name, "take_gil"))
			f->take_gil = sym_offset(e, &sym);
		else if (f->restore < 0 && !strcmp(name, "PyEval_RestoreThread"))
			f->restore = sym_offset(e, &sym);
	}
}

static void scan_dynamic(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, struct elf_facts *f)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	GElf_Dyn dyn;

	for (i = 0; d && i < n; i++) {
		const char *s;

		if (!gelf_getdyn(d, (int)i, &dyn))
			continue;
		if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH && dyn.d_tag != DT_RPATH)
			continue;
		s = elf_strptr(e, sh->sh_link, dyn.d_un.d_val);
		if (!s)
			continue;
		if (dyn.d_tag == DT_NEEDED && !strncmp(s, "libpython", 9))
			fmt_to(f->needed_py, sizeof(f->needed_py), "%s", s);
		else if (dyn.d_tag != DT_NEEDED && !f->runpath[0])
			fmt_to(f->runpath, sizeof(f->runpath), "%s", s);
	}
}

static bool scan_stapsdt(Elf *e, Elf_Scn *scn)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const char *desc = (const char *)d->d_buf + desc_off;
		/* desc: pc, base, semaphore (addresses), then provider\0name\0args */
		size_t skip = 3 * (gelf_getclass(e) == ELFCLASS32 ? 4 : 8);

		if (nh.n_type == 3 && nh.n_descsz > skip + 6 &&
		    !strncmp(desc + skip, "python", 7))
			return true;
	}
	return false;
}

static int elf_scan(const char *path, struct elf_facts *f)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	Elf *e;
	int fd;

	memset(f, 0, sizeof(*f));
	f->take_gil = f->restore = -1;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getshdrstrndx(e, &shstrndx)) {
		if (e)
			elf_end(e);
		close(fd);
		return -EINVAL;
	}
	while ((scn = elf_nextscn(e, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_NOTE && name && !strcmp(name, ".note.stapsdt"))
			f->usdt = f->usdt || scan_stapsdt(e, scn);
		else if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
			scan_syms(e, scn, &sh, f);
		else if (sh.sh_type == SHT_DYNAMIC)
			scan_dynamic(e, scn, &sh, f);
	}
	elf_end(e);
	close(fd);
	return 0;
}

/* Where the dynamic loader would find lib for bin (RUNPATH, then the
 * usual directories). */
static bool find_lib(const char *bin, const struct elf_facts *f, char *out, size_t sz)
{
	static const char *const dirs[] = {
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
		"/usr/local/lib",
	};
	char rp[sizeof(f->runpath)], origin[PATH_MAX], *tok, *save = NULL;
	const char *ld = getenv("LD_LIBRARY_PATH");
	size_t i;

	fmt_to(origin, sizeof(origin), "%s", bin);
	if (strrchr(origin, '/'))
		*strrchr(origin, '/') = '\0';
	fmt_to(rp, sizeof(rp), "%s:%s", f->runpath, ld ? ld : "");
	for (tok = strtok_r(rp, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		if (!strncmp(tok, "$ORIGIN", 7))
			fmt_to(out, sz, "%s%s/%s", origin, tok + 7, f->needed_py);
		else
			fmt_to(out, sz, "%s/%s", tok, f->needed_py);
		if (!access(out, R_OK))
			return true;
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		fmt_to(out, sz, "%s/%s", dirs[i], f->needed_py);
		if (!access(out, R_OK))
			return true;
	}
	return false;
}

/* ---- attach ----------------------------------------------------------- */

#define OWN_FD_MAX 8192

/* Which fds below OWN_FD_MAX are open, as a bitmap. */
static void fds_open(uint8_t *map)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	memset(map, 0, OWN_FD_MAX / 8);
	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd != dirfd(d) && fd >= 0 && fd < OWN_FD_MAX)
			map[fd / 8] |= (uint8_t)(1u << (fd % 8));
	}
	closedir(d);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every fd from 3 up but the sorted keep[]. */
static void close_all_but(int *keep, int n)
{
	unsigned int from = 3;
	int i;

	qsort(keep, (size_t)n, sizeof(*keep), cmp_int);
	for (i = 0; i < n; i++) {
		if ((unsigned int)keep[i] > from)
			close_range(from, (unsigned int)keep[i] - 1, 0);
		if ((unsigned int)keep[i] >= from)
			from = (unsigned int)keep[i] + 1;
	}
	close_range(from, ~0u, 0);
}

static void add_link(struct pyprobe *p, struct bpf_link *l)
{
	if (p->nlinks < MAX_LINKS)
		p->links[p->nlinks++] = l;
	else
		bpf_link__destroy(l);
}

/* One probe set: every USDT probe of it, on the binary holding them. */
static bool attach_usdt(struct pyprobe *p, const char *path, struct bpf_program *const *progs,
			const char *const *names, int n)
{
	struct bpf_link *l[4];
	int i, k;

	for (i = 0; i < n; i++) {
		l[i] = bpf_program__attach_usdt(progs[i], -1, path, "python", names[i], NULL);
		if (!l[i]) {
			mpx_info("python: USDT %s in %s: %s\n", names[i], path, strerror(errno));
			for (k = 0; k < i; k++)
				bpf_link__destroy(l[k]);
			return false;
		}
	}
	for (i = 0; i < n; i++)
		add_link(p, l[i]);
	return true;
}

static bool attach_gil(struct pyprobe *p, const char *path, long off)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct bpf_link *in, *out;

	in = bpf_program__attach_uprobe_opts(p->skel->progs.gil_enter, -1, path,
					     (size_t)off, &uo);
	if (!in) {
		mpx_info("python: uprobe at %s+0x%lx: %s\n", path, off, strerror(errno));
		return false;
	}
	uo.retprobe = true;
	out = bpf_program__attach_uprobe_opts(p->skel->progs.gil_exit, -1, path,
					      (size_t)off, &uo);
	if (!out) {
		mpx_info("python: uretprobe at %s+0x%lx: %s\n", path, off, strerror(errno));
		bpf_link__destroy(in);
		return false;
	}
	add_link(p, in);
	add_link(p, out);
	return true;
}

static int load(struct pyprobe *p, const struct pyprobe_opts *o, const struct pyprobe_maps *m)
{
	int err;

	p->skel = pyusdt_bpf__open();
	if (!p->skel)
		return errno ? -errno : -EINVAL;
	if (o->functions)
		snprintf((char *)p->skel->rodata->func_glob, MPX_PYNAME_LEN, "%s",
			 strcmp(o->functions, "*") ? o->functions : "");
	if ((err = bpf_map__reuse_fd(p->skel->maps.tracked, m->tracked_fd)) ||
	    (err = bpf_map__reuse_fd(p->skel->maps.events, m->events_fd)) ||
	    (err = bpf_map__reuse_fd(p->skel->maps.drops, m->drops_fd)))
		return err;
	return pyusdt_bpf__load(p->skel);
}

static const char *base(const char *path)
{
	return strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
}

static void set_note(struct pyprobe *p, const struct pyprobe_opts *o, bool have_usdt,
		     const char *gil_sym, const char *gil_bin)
{
	p->note[0] = '\0';
#define NOTE(...) note_add(p, __VA_ARGS__)
	NOTE("python probes on %s:", p->bin);
	if (p->attached & MPX_PYP_IMPORT)
		NOTE(" import, GC and audit spans");
	else if (have_usdt)
		NOTE(" attaching its USDT probes failed (-v shows why): no import, GC or "
		     "audit spans");
	else
		NOTE(" no USDT probes (built without --with-dtrace): no import, GC or audit "
		     "spans");
	if (o->functions)
		NOTE((p->attached & MPX_PYP_FUNC) ? "; functions matching %s" :
		     "; --py-functions=%s unavailable", o->functions);
	if (p->attached & MPX_PYP_GIL_TAKE)
		NOTE("; GIL waits from take_gil in %s", gil_bin);
	else if (p->attached & MPX_PYP_GIL_RESTORE)
		NOTE("; GIL waits from %s in %s only after blocking calls (take_gil is not a "
		     "visible symbol: the eval loop's hand-offs are not seen)", gil_sym, gil_bin);
	else
		NOTE("; no GIL waits (neither take_gil nor PyEval_RestoreThread is visible)");
#undef NOTE
}

struct pyprobe *pyprobe__open(const struct pyprobe_opts *o, char *const argv[],
			      const struct pyprobe_maps *maps)
{
	struct pyprobe *p = calloc(1, sizeof(*p));
	struct elf_facts fb, fl, *fg = NULL;
	uint8_t before[OWN_FD_MAX / 8], after[OWN_FD_MAX / 8];
	int i;
	const char *usdt_path = NULL, *gil_path = NULL;
	char why[PATH_MAX + 64];
	int err;

	if (!p)
		return NULL;
	if (o->off) {
		p->note[0] = '\0';
		note_add(p, "python probes off (--python-probes=off)");
		return p;
	}
	if (!argv || !argv[0] || !pyprobe__resolve(argv[0], p->bin, sizeof(p->bin), why,
						    sizeof(why))) {
		p->note[0] = '\0';
		note_add(p, "no python probes: %s",
			 argv && argv[0] ? why : "no command");
		return p;
	}
	if (elf_scan(p->bin, &fb)) {
		p->note[0] = '\0';
		note_add(p, "no python probes: cannot read %s", p->bin);
		return p;
	}
	if (fb.needed_py[0] && find_lib(p->bin, &fb, p->lib, sizeof(p->lib)) &&
	    elf_scan(p->lib, &fl))
		p->lib[0] = '\0';
	if (!fb.usdt && !fb.needed_py[0] && strncmp(base(p->bin), "python", 6)) {
		p->note[0] = '\0';
		note_add(p, "no python probes: %s is not a Python "
			 "interpreter", p->bin);
		p->bin[0] = '\0';
		return p;
	}
	if (fb.usdt)
		usdt_path = p->bin;
	else if (p->lib[0] && fl.usdt)
		usdt_path = p->lib;
	/* take_gil where visible, in libpython first (it holds the interpreter). */
	if (p->lib[0] && fl.take_gil >= 0)
		gil_path = p->lib, fg = &fl;
	else if (fb.take_gil >= 0)
		gil_path = p->bin, fg = &fb;
	else if (p->lib[0] && fl.restore >= 0)
		gil_path = p->lib, fg = &fl;
	else if (fb.restore >= 0)
		gil_path = p->bin, fg = &fb;

	err = load(p, o, maps);
	if (err) {
		p->note[0] = '\0';
		note_add(p, "no python probes: loading their BPF "
			 "programs failed: %s", strerror(-err));
		pyusdt_bpf__destroy(p->skel);
		p->skel = NULL;
		return p;
	}
	fds_open(before);
	if (usdt_path) {
		struct bpf_program *imp[] = { p->skel->progs.import_start,
					      p->skel->progs.import_done };
		struct bpf_program *gc[] = { p->skel->progs.gc_start, p->skel->progs.gc_done };
		struct bpf_program *fn[] = { p->skel->progs.func_entry,
					     p->skel->progs.func_return };
		const char *imp_n[] = { "import__find__load__start", "import__find__load__done" };
		const char *gc_n[] = { "gc__start", "gc__done" };
		const char *fn_n[] = { "function__entry", "function__return" };
		struct bpf_program *au = p->skel->progs.audit;
		const char *au_n = "audit";

		if (attach_usdt(p, usdt_path, imp, imp_n, 2))
			p->attached |= MPX_PYP_IMPORT;
		if (attach_usdt(p, usdt_path, gc, gc_n, 2))
			p->attached |= MPX_PYP_GC;
		if (attach_usdt(p, usdt_path, &au, &au_n, 1))
			p->attached |= MPX_PYP_AUDIT;
		if (o->functions && attach_usdt(p, usdt_path, fn, fn_n, 2))
			p->attached |= MPX_PYP_FUNC;
	}
	p->missing = (MPX_PYP_IMPORT | MPX_PYP_GC | MPX_PYP_AUDIT) & ~p->attached;
	if (o->functions && !(p->attached & MPX_PYP_FUNC))
		p->missing |= MPX_PYP_FUNC;
	if (fg && fg->take_gil >= 0 && attach_gil(p, gil_path, fg->take_gil))
		p->attached |= MPX_PYP_GIL_TAKE;
	else if (fg && fg->restore >= 0 && attach_gil(p, gil_path, fg->restore))
		p->attached |= MPX_PYP_GIL_RESTORE;
	if (!(p->attached & MPX_PYP_GIL_TAKE))
		p->missing |= MPX_PYP_GIL_TAKE;
	fds_open(after);
	for (i = 0; i < OWN_FD_MAX / 8; i++)
		after[i] &= (uint8_t)~before[i];
	for (i = 0; i < OWN_FD_MAX && p->nown < 4 * MAX_LINKS; i++)
		if (after[i / 8] & (1u << (i % 8)))
			p->own_fd[p->nown++] = i;
	set_note(p, o, usdt_path != NULL, "PyEval_RestoreThread", gil_path ? base(gil_path) : "");
	return p;
}

bool pyprobe__is_python(const struct pyprobe *p)
{
	return p->bin[0] != '\0';
}

bool pyprobe__wanted_missing(const struct pyprobe *p)
{
	/* GIL waits after blocking calls only is the usual case: not worth a
	 * warning (the report says it). */
	return p->bin[0] && (p->missing & ~MPX_PYP_GIL_TAKE);
}

const char *pyprobe__note(const struct pyprobe *p)
{
	return p->note;
}

void pyprobe__record(const struct pyprobe *p, struct mpx_py *rec)
{
	rec->hdr.type = MPX_EV_PY;
	rec->hdr.size = sizeof(*rec);
	rec->kind = MPX_PY_PROBES;
	rec->arg = p->attached;
	rec->val = (int32_t)p->missing;
	/* The binary's tail when the path is longer than the field. */
	{
		size_t n = strlen(p->bin), k = n < sizeof(rec->name) ? n : sizeof(rec->name) - 1;

		memcpy(rec->name, p->bin + n - k, k);
		rec->name[k] = '\0';
	}
}

void pyprobe__func_stats(const struct pyprobe *p, uint64_t *calls, uint64_t *matched)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	__u64 *v;
	__u32 k;

	*calls = *matched = 0;
	if (!p->skel || ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return;
	for (k = 0; k < 2; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.func_stats), &k, v))
			continue;
		for (i = 0; i < ncpu; i++)
			*(k ? matched : calls) += v[i];
	}
	free(v);
}

/* Not mpxtrace's command line: nothing looking for the traced command (or
 * for mpxtrace) should take this helper for either. */
static void rename_self(void)
{
	static char cmd[] = "mpxtrace-uprobe-release";
	unsigned long a = (unsigned long)cmd, e = a + sizeof(cmd);

	prctl(PR_SET_NAME, "mpx-uprobe-rel", 0, 0, 0);
	if (prctl(PR_SET_MM, PR_SET_MM_ARG_START, a, 0, 0) ||
	    prctl(PR_SET_MM, PR_SET_MM_ARG_END, e, 0, 0)) {
		prctl(PR_SET_MM, PR_SET_MM_ARG_END, e, 0, 0);
		prctl(PR_SET_MM, PR_SET_MM_ARG_START, a, 0, 0);
	}
}

/*
 * Each uprobe's unregistration waits for an RCU grace period (~0.1 s on a
 * small VM), one after the other: 0.7 s for our seven.  A grandchild that
 * holds only the probes' fds pays that after we are gone; we close our
 * copies at once.  It waits for our closes (EOF on a pipe), so that its
 * closes are the last ones.
 */
static void hand_off_links(struct pyprobe *p)
{
	int pfd[2], i, status;
	pid_t c;

	if (!p->nlinks || !p->nown || pipe2(pfd, O_CLOEXEC))
		return;
	c = fork();
	if (c == 0) {
		if (fork() == 0) {
			int null;
			char b;

			/* Nothing of ours but the probes: no stdout held open,
			 * no other program kept attached. */
			null = open("/dev/null", O_RDWR);
			if (null >= 0) {
				dup2(null, 0);
				dup2(null, 1);
				dup2(null, 2);
			}
			p->own_fd[p->nown] = pfd[0];
			close_all_but(p->own_fd, p->nown + 1);
			rename_self();
			while (read(pfd[0], &b, 1) < 0 && errno == EINTR)
				;
			_exit(0);	/* the kernel closes the probes */
		}
		_exit(0);
	}
	close(pfd[0]);
	if (c > 0)
		waitpid(c, &status, 0);
	for (i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	p->nlinks = 0;
	close(pfd[1]);
}

void pyprobe__destroy(struct pyprobe *p)
{
	int i;

	if (!p)
		return;
	hand_off_links(p);
	for (i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	pyusdt_bpf__destroy(p->skel);
	free(p);
}
