// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect.h"
#include "corebtf.h"
#include "gilsite.h"
#include "pyprobe.h"
#include "util.h"
#include "pyusdt.skel.h"

#define MAX_LINKS 16
#define MAX_AUDIT PYPROBE_MAX_AUDIT
#define MPX_TRACE_UPROBE_MULTI	48	/* enum bpf_attach_type, v6.6 */
#define MPX_UPROBE_MULTI_RETURN	1	/* BPF_F_UPROBE_MULTI_RETURN */
#define PYM_MAX			64

struct pym_target {
	uint64_t off, ref_ctr_off, cookie;
};

struct pyprobe {
	struct pyusdt_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	int mfd[4];			/* uprobe_multi links (raw fds) */
	int nmfd;
	int own_fd[4 * MAX_LINKS + 4 * MAX_AUDIT + 1];	/* the fds attaching opened */
	int nown;
	/* The audit probe, attached per process (see pyprobe__audit). */
	const char *usdt_path;		/* p->bin or p->lib: the file with the USDT notes */
	bool interpreter;		/* bin is python itself, not a program embedding it */
	struct pym_target audit_t;	/* its target; its spec is ours ... */
	bool audit_multi;		/* ... with uprobe_multi, else libbpf's */
	struct bpf_link *audit_link[MAX_AUDIT];	/* perf-event links */
	uint32_t audit_pid[MAX_AUDIT];
	int naudit;
	uint32_t audit_skipped;		/* processes past MAX_AUDIT */
	int gil_regs_off[2];		/* gil_probe's mutex_off, deadline_off */
	uint32_t attached;		/* MPX_PYP_* */
	uint32_t missing;		/* wanted, not available */
	char bin[PATH_MAX];		/* the interpreter */
	uint32_t pid;			/* a process running it, or 0 */
	dev_t dev;			/* ... its file, to know it again */
	ino_t ino;
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

static const char *base(const char *path)
{
	return strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
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

/* The first .python-version in start or a directory above it. */
static FILE *version_file_up(const char *start)
{
	char dir[PATH_MAX], file[PATH_MAX + 20], *p;
	FILE *f;

	fmt_to(dir, sizeof(dir), "%s", start);
	for (;;) {
		fmt_to(file, sizeof(file), "%s/.python-version", strcmp(dir, "/") ? dir : "");
		if ((f = fopen(file, "re")) || !(p = strrchr(dir, '/')))
			return f;
		if (p == dir && !p[1])
			return NULL;
		p[p == dir] = '\0';
	}
}

/*
 * The one version pyenv would pick, read as pyenv-version-file(-read)
 * does: $PYENV_VERSION, else the first .python-version from $PYENV_DIR
 * (else the current directory) up, else ROOT/version.  False when that is
 * not one plain version name (several, "system", none): pyenv decides.
 */
static bool pyenv_version(const char *root, char *out, size_t sz)
{
	const char *env = getenv("PYENV_VERSION"), *dir = getenv("PYENV_DIR");
	char path[PATH_MAX], line[1100], word[1100];
	FILE *f = NULL;
	int n = 0;

	if (env && *env) {
		fmt_to(out, sz, "%s", env);
	} else {
		if (dir && *dir)
			f = version_file_up(dir);
		if (!f && getcwd(path, sizeof(path)))
			f = version_file_up(path);
		if (!f) {
			fmt_to(path, sizeof(path), "%s/version", root);
			f = fopen(path, "re");
		}
		if (!f)
			return false;
		out[0] = '\0';
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%1099s", word) == 1 && word[0] != '#' &&
			    strcmp(word, "..") && !strchr(word, '/') && !n++)
				fmt_to(out, sz, "%s", word);
		fclose(f);
		if (n != 1)
			return false;
	}
	return out[0] && !strchr(out, ':') && !strchr(out, '/') && strcmp(out, "system") &&
	       strcmp(out, "..");
}

/* pyenv's shim: `exec "PYENV/libexec/pyenv" exec "$program" "$@"`; ask it. */
static bool pyenv_shim(const char *script, const char *text, char *out, size_t sz)
{
	const char *x = strstr(text, "exec \""), *y;
	char cmd[PATH_MAX + 128], prog[256], root[PATH_MAX], ver[256];
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
	/* The plain case without 50 ms of shell: ROOT/versions/V/bin/prog of
	 * the one version set, as pyenv-which finds it first. */
	if (y - x > 14 && !strncmp(y - 14, "/libexec/pyenv", 14)) {
		fmt_to(root, sizeof(root), "%.*s", (int)(y - x) - 14, x);
		if (pyenv_version(root, ver, sizeof(ver))) {
			fmt_to(out, sz, "%s/versions/%s/bin/%s", root, ver, prog);
			if (is_exec_file(out))
				return true;
		}
	}
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
	long gil_wait;			/* file offset of take_gil's wait on the GIL's
					 * condition variable (x86-64, no take_gil
					 * symbol), or -1 */
	long gil_woken;			/* ... of the instruction after that call */
	uint64_t gil_wait_va;
	int8_t gil_regs[2];		/* the call's mutex and deadline arguments'
					 * callee-saved registers (gilsite), or -1 */
	uint64_t take_gil_va, take_gil_size;	/* the symbol's, when visible */
	bool calls_py_main;		/* Py_BytesMain or Py_Main from libpython */
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

		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		/* An interpreter's main hands over to libpython's. */
		if (sym.st_shndx == SHN_UNDEF && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
		    (name = elf_strptr(e, sh->sh_link, sym.st_name)) &&
		    (!strcmp(name, "Py_BytesMain") || !strcmp(name, "Py_Main")))
			f->calls_py_main = true;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value)
			continue;
		name = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!name)
			continue;
		if (f->take_gil < 0 && !strcmp(name, "take_gil")) {
			f->take_gil = sym_offset(e, &sym);
			f->take_gil_va = sym.st_value;
			f->take_gil_size = sym.st_size;
		}
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

/* The GOT slot the loader fills with pthread_cond_timedwait: of the
 * jump slot (for the PLT stub) and of a GLOB_DAT (for `call *slot`). */
static void cond_wait_slots(Elf *e, uint64_t *jump_slot, uint64_t *glob_dat)
{
	Elf_Scn *scn = NULL, *dynsym = NULL;
	size_t i, n, idx = 0;
	GElf_Shdr sh, dsh;
	Elf_Data *d;

	while ((scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
	if (!dynsym || !gelf_getshdr(dynsym, &dsh) || !(d = elf_getdata(dynsym, NULL)))
		return;
	n = dsh.sh_entsize ? dsh.sh_size / dsh.sh_entsize : 0;
	for (i = 1; i < n && !idx; i++) {
		GElf_Sym sym;
		const char *name;

		if (gelf_getsym(d, (int)i, &sym) && !sym.st_value &&
		    (name = elf_strptr(e, dsh.sh_link, sym.st_name)) &&
		    !strcmp(name, "pthread_cond_timedwait"))
			idx = i;
	}
	if (!idx)
		return;
	scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Rela r;

			if (!gelf_getrela(d, (int)i, &r) || GELF_R_SYM(r.r_info) != idx)
				continue;
			if (GELF_R_TYPE(r.r_info) == R_X86_64_JUMP_SLOT)
				*jump_slot = r.r_offset;
			else if (GELF_R_TYPE(r.r_info) == R_X86_64_GLOB_DAT)
				*glob_dat = r.r_offset;
		}
	}
}

static long vaddr_off(Elf *e, uint64_t va, bool exec);

/* x86 register number n (0 rax .. 15 r15) by name, or "". */
static const char *reg_name(int n)
{
	static const char *const name[16] = {
		"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	};

	return n >= 0 && n < 16 ? name[n] : "";
}

/*
 * x86-64: take_gil's one call to pthread_cond_timedwait, within take_gil
 * where the symbol is visible (with its size), else the one such call in
 * the whole text (CPython waits on a condition variable with a timeout only
 * in take_gil).  A probe on it fires only when the GIL is held by another
 * thread, never on an uncontended take.
 */
static void find_gil_wait(Elf *e, size_t shstrndx, struct elf_facts *f)
{
	uint64_t jump_slot = 0, glob_dat = 0, stub = 0;
	struct gilsite site[2];
	Elf_Scn *scn = NULL;
	size_t found = 0;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf_Data *d;

	if (!gelf_getehdr(e, &eh) || eh.e_machine != EM_X86_64)
		return;
	cond_wait_slots(e, &jump_slot, &glob_dat);
	if (!jump_slot && !glob_dat)
		return;
	while (jump_slot && !stub && (scn = elf_nextscn(e, scn))) {
		const char *name;

		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR) &&
		    (name = elf_strptr(e, shstrndx, sh.sh_name)) && !strncmp(name, ".plt", 4) &&
		    (d = elf_getdata(scn, NULL)) && d->d_buf)
			stub = gilsite__plt_stub(d->d_buf, d->d_size, sh.sh_addr, jump_slot);
	}
	scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) || !(d = elf_getdata(scn, NULL)) || !d->d_buf)
			continue;
		found += gilsite__calls(d->d_buf, d->d_size, sh.sh_addr,
					f->take_gil_size ? f->take_gil_va : 0,
					f->take_gil_size ? f->take_gil_va + f->take_gil_size :
							   UINT64_MAX, stub, glob_dat,
					site + (found < 2 ? found : 1), found < 2 ? 2 - found : 0);
	}
	if (found != 1)
		return;
	f->gil_wait_va = site[0].va;
	f->gil_regs[0] = site[0].arg_reg[0];
	f->gil_regs[1] = site[0].arg_reg[1];
	f->gil_wait = vaddr_off(e, site[0].va, true);
	f->gil_woken = vaddr_off(e, site[0].woken_va, true);
	if (f->gil_wait < 0 || f->gil_woken < 0)
		f->gil_wait = f->gil_woken = -1;
}

static int elf_scan(const char *path, struct elf_facts *f)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	Elf *e;
	int fd;

	memset(f, 0, sizeof(*f));
	f->take_gil = f->restore = f->gil_wait = f->gil_woken = -1;
	f->gil_regs[0] = f->gil_regs[1] = -1;
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
	find_gil_wait(e, shstrndx, f);
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

/* The file of a running process's mappings named lib (its DT_NEEDED name). */
static bool mapped_lib(uint32_t pid, const char *lib, char *out, size_t sz)
{
	char path[64], line[PATH_MAX + 128], *f;
	bool found = false;
	FILE *m;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	m = fopen(path, "re");
	if (!m)
		return false;
	while (!found && fgets(line, sizeof(line), m)) {
		line[strcspn(line, "\n")] = '\0';
		f = strchr(line, '/');
		if (f && !strcmp(base(f), lib) && !access(f, R_OK)) {
			fmt_to(out, sz, "%s", f);
			found = true;
		}
	}
	fclose(m);
	return found;
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

/* The GIL probes chosen for an interpreter. */
struct gil_probe {
	const char *path;		/* the file probed, or NULL: none */
	long off;			/* take_gil, PyEval_RestoreThread or the wait call */
	long woken;			/* the wait call's return, or -1: a return probe */
	uint32_t kind;			/* MPX_PYP_GIL_* it gives */
	/* With the wait call: the offsets in struct pt_regs of the registers
	 * keeping its mutex and deadline, for one probe per pass on the return
	 * alone (gil_pass), or -1: a probe on the call too. */
	int mutex_off, deadline_off;
};

/* Every GIL wait, from the wait on the GIL's condition variable. */
#define GIL_COND (MPX_PYP_GIL_TAKE | MPX_PYP_GIL_COND)

/* The wait's return alone tells a pass's start (see gil_pass). */
static bool gil_one_probe(const struct gil_probe *g)
{
	return g->woken >= 0 && g->mutex_off >= 0 && g->deadline_off >= 0;
}

/* The GIL probes as perf-event uprobes: take_gil's (or
 * PyEval_RestoreThread's) entry and return, or the condition-variable
 * wait's call and the instruction after it. */
static bool attach_gil(struct pyprobe *p, const struct gil_probe *g)
{
	bool cond = g->woken >= 0;
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct bpf_link *in, *out;

	if (gil_one_probe(g)) {
		in = bpf_program__attach_uprobe_opts(p->skel->progs.gil_pass, -1, g->path,
						     (size_t)g->woken, &uo);
		if (!in) {
			mpx_info("python: uprobe at %s+0x%lx: %s\n", g->path, g->woken,
				 strerror(errno));
			return false;
		}
		add_link(p, in);
		return true;
	}

	in = bpf_program__attach_uprobe_opts(cond ? p->skel->progs.gil_wait :
					     p->skel->progs.gil_enter, -1, g->path,
					     (size_t)g->off, &uo);
	if (!in) {
		mpx_info("python: uprobe at %s+0x%lx: %s\n", g->path, g->off, strerror(errno));
		return false;
	}
	uo.retprobe = !cond;
	out = bpf_program__attach_uprobe_opts(cond ? p->skel->progs.gil_woken :
					      p->skel->progs.gil_exit, -1, g->path,
					      (size_t)(cond ? g->woken : g->off), &uo);
	if (!out) {
		mpx_info("python: %s at %s+0x%lx: %s\n", cond ? "uprobe" : "uretprobe", g->path,
			 cond ? g->woken : g->off, strerror(errno));
		bpf_link__destroy(in);
		return false;
	}
	add_link(p, in);
	add_link(p, out);
	return true;
}

/* multi: the one-program set for uprobe_multi links, else one program per
 * probe for libbpf's perf-event uprobes. */
static int load(struct pyprobe *p, const struct pyprobe_opts *o, const struct pyprobe_maps *m,
		bool multi)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct bpf_program *prog;
	char key[512], core[128];
	struct utsname u;
	struct stat st;
	const void *elf;
	size_t elf_sz;
	int err;

	/* CO-RE (usdt.bpf.h's) against the small cached BTF, as the main
	 * programs: parsing the kernel's whole BTF costs ~20 ms. */
	elf = pyusdt_bpf__elf_bytes(&elf_sz);
	if (!uname(&u) && !stat("/sys/kernel/btf/vmlinux", &st)) {
		snprintf(key, sizeof(key), "%s|%s|%lld|pyusdt", u.release, u.version,
			 (long long)st.st_size);
		if (!corebtf__path_named("mpxtrace-pycore", elf, elf_sz, key, core,
					 sizeof(core)))
			oo.btf_custom_path = core;
	}
	p->skel = pyusdt_bpf__open_opts(&oo);
	if (!p->skel && oo.btf_custom_path) {
		unlink(core);	/* unreadable: the next run builds it again */
		oo.btf_custom_path = NULL;
		p->skel = pyusdt_bpf__open_opts(&oo);
	}
	if (!p->skel)
		return errno ? -errno : -EINVAL;
	bpf_object__for_each_program(prog, p->skel->obj) {
		bool is_multi = prog == p->skel->progs.py_multi ||
				prog == p->skel->progs.gil_exit_multi;

		/* The audit probe is a perf-event uprobe either way. */
		bpf_program__set_autoload(prog, is_multi == multi ||
					  (prog == p->skel->progs.audit && p->usdt_path));
		if (is_multi)
			bpf_program__set_expected_attach_type(prog, MPX_TRACE_UPROBE_MULTI);
	}
	if (o->functions)
		snprintf((char *)p->skel->rodata->func_glob, MPX_PYNAME_LEN, "%s",
			 strcmp(o->functions, "*") ? o->functions : "");
	if ((err = bpf_map__reuse_fd(p->skel->maps.tracked, m->tracked_fd)) ||
	    (err = bpf_map__reuse_fd(p->skel->maps.events, m->events_fd)) ||
	    (err = bpf_map__reuse_fd(p->skel->maps.drops, m->drops_fd)))
		return err;
	/* The scheduler programs' threshold: wake mpxtrace's main thread only
	 * when a quarter of the shared buffer waits (its reader fell behind). */
	p->skel->rodata->wakeup_bytes = bpf_map__max_entries(p->skel->maps.events) / 4;
	p->skel->rodata->gil_mutex_reg_off = (uint32_t)p->gil_regs_off[0];
	p->skel->rodata->gil_deadline_reg_off = (uint32_t)p->gil_regs_off[1];
	err = pyusdt_bpf__load(p->skel);
	if (err && err != -EPERM && oo.btf_custom_path)
		unlink(core);	/* the caller tries again: against the kernel's BTF */
	return err;
}

/* ---- uprobe_multi ------------------------------------------------------ */


/* As usdt.bpf.h's struct __bpf_usdt_spec (its BTF: 208 bytes). */
struct usdt_arg_spec {
	uint64_t val_off;
	uint32_t arg_type;		/* 0 const, 1 register, 2 register + offset, deref */
	int16_t reg_off;
	bool arg_signed;
	int8_t arg_bitshift;
};

struct usdt_spec {
	struct usdt_arg_spec args[12];
	uint64_t usdt_cookie;
	int16_t arg_cnt;
};
_Static_assert(sizeof(struct usdt_spec) == 208, "usdt.bpf.h spec layout");

#if defined(__x86_64__)
/* Offset in the kernel's x86-64 struct pt_regs of a register of any width. */
static int reg_off(const char *r)
{
	static const struct {
		const char *names[4];
		int off;
	} regs[] = {
		{ { "rax", "eax", "ax", "al" }, 80 }, { { "rbx", "ebx", "bx", "bl" }, 40 },
		{ { "rcx", "ecx", "cx", "cl" }, 88 }, { { "rdx", "edx", "dx", "dl" }, 96 },
		{ { "rsi", "esi", "si", "sil" }, 104 }, { { "rdi", "edi", "di", "dil" }, 112 },
		{ { "rbp", "ebp", "bp", "bpl" }, 32 }, { { "rsp", "esp", "sp", "spl" }, 152 },
		{ { "rip", "eip", "ip", "" }, 128 },
	};
	static const int rn[] = { 72, 64, 56, 48, 24, 16, 8, 0 };	/* r8..r15 */
	size_t i, k;
	int n;

	for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		for (k = 0; k < 4; k++)
			if (regs[i].names[k][0] && !strcmp(r, regs[i].names[k]))
				return regs[i].off;
	if (r[0] == 'r' && sscanf(r + 1, "%d", &n) == 1 && n >= 8 && n <= 15) {
		const char *e = r + 1 + (n >= 10 ? 2 : 1);

		if (!*e || !strcmp(e, "d") || !strcmp(e, "w") || !strcmp(e, "b"))
			return rn[n - 8];
	}
	return -1;
}

/* The offset in struct pt_regs of x86 register number n (0 rax .. 15 r15),
 * or -1. */
static int reg_num_off(int n)
{
	const char *r = reg_name(n);

	return *r ? reg_off(r) : -1;
}

/* One "SIZE@OPERAND" of a stapsdt note, as libbpf's usdt.c reads x86-64. */
static int parse_arg(const char *a, struct usdt_arg_spec *sp)
{
	char reg[16];
	long long off;
	int size, len = 0;

	if (sscanf(a, "%d@%n", &size, &len) != 1 || !len || !size || abs(size) > 8)
		return -EINVAL;
	a += len;
	memset(sp, 0, sizeof(*sp));
	if (sscanf(a, "%lld(%%%15[a-z0-9])", &off, reg) == 2 ||
	    (off = 0, sscanf(a, "(%%%15[a-z0-9])", reg) == 1)) {
		sp->arg_type = 2;
		sp->val_off = (uint64_t)off;
	} else if (sscanf(a, "%%%15[a-z0-9]", reg) == 1) {
		sp->arg_type = 1;
	} else if (sscanf(a, "$%lld", &off) == 1) {
		sp->arg_type = 0;
		sp->val_off = (uint64_t)off;
		reg[0] = '\0';
	} else {
		return -EINVAL;
	}
	if (sp->arg_type && (sp->reg_off = (int16_t)reg_off(reg)) < 0)
		return -EINVAL;
	sp->arg_signed = size < 0;
	sp->arg_bitshift = (int8_t)(64 - abs(size) * 8);
	return 0;
}
#else
static int parse_arg(const char *a, struct usdt_arg_spec *sp)
{
	(void)a;
	(void)sp;
	return -EOPNOTSUPP;	/* libbpf's per-probe attach does the other arches */
}

static int reg_num_off(int n)
{
	(void)n;
	return -1;		/* the GIL's wait is found on x86-64 only */
}
#endif

/* File offset of a virtual address of path's ELF, in a section of type. */
static long vaddr_off(Elf *e, uint64_t va, bool exec)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    sh.sh_type == SHT_NOBITS || exec != !!(sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (va >= sh.sh_addr && va < sh.sh_addr + sh.sh_size)
			return (long)(va - sh.sh_addr + sh.sh_offset);
	}
	return -1;
}

/* The probes of path named in names[] (kinds[] their cookies): targets and
 * specs; returns how many, or -errno. */
static int usdt_targets(const char *path, const char *const *names, const uint64_t *kinds,
			int nnames, struct pym_target *t, struct usdt_spec *specs, int max,
			uint32_t *found)
{
	Elf_Scn *scn = NULL, *notes = NULL;
	uint64_t base_addr = 0;
	size_t shstrndx, off = 0, name_off, desc_off;
	int fd, n = 0, err = 0;
	GElf_Shdr sh;
	GElf_Nhdr nh;
	Elf_Data *d;
	Elf *e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getshdrstrndx(e, &shstrndx) || gelf_getclass(e) != ELFCLASS64) {
		err = -EINVAL;
		goto out;
	}
	while ((scn = elf_nextscn(e, scn))) {
		const char *nm;

		if (!gelf_getshdr(scn, &sh))
			continue;
		nm = elf_strptr(e, shstrndx, sh.sh_name);
		if (nm && !strcmp(nm, ".note.stapsdt"))
			notes = scn;
		else if (nm && !strcmp(nm, ".stapsdt.base"))
			base_addr = sh.sh_addr;
	}
	d = notes ? elf_getdata(notes, NULL) : NULL;
	while (d && n < max && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const char *desc = (const char *)d->d_buf + desc_off, *prov, *name, *args;
		uint64_t pc, nbase, sem;
		struct usdt_spec *sp = &specs[n];
		char buf[512], *tok, *save = NULL;
		long po, so = 0;
		int k;

		if (nh.n_type != 3 || nh.n_descsz < 24 + 3)
			continue;
		memcpy(&pc, desc, 8);
		memcpy(&nbase, desc + 8, 8);
		memcpy(&sem, desc + 16, 8);
		prov = desc + 24;
		name = prov + strnlen(prov, nh.n_descsz - 24) + 1;
		if (name >= desc + nh.n_descsz || strcmp(prov, "python"))
			continue;
		args = name + strnlen(name, (size_t)(desc + nh.n_descsz - name)) + 1;
		if (args > desc + nh.n_descsz)
			continue;
		for (k = 0; k < nnames && strcmp(name, names[k]); k++)
			;
		if (k == nnames)
			continue;
		if (base_addr)		/* prelinked: move by what the base moved */
			pc += base_addr - nbase;
		po = vaddr_off(e, pc, true);
		if (sem && base_addr)
			sem += base_addr - nbase;
		if (sem)
			so = vaddr_off(e, sem, false);
		if (po < 0 || so < 0) {
			err = -ENOENT;
			goto out;
		}
		memset(sp, 0, sizeof(*sp));
		fmt_to(buf, sizeof(buf), "%.*s", (int)(desc + nh.n_descsz - args), args);
		for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (sp->arg_cnt == 12 || parse_arg(tok, &sp->args[sp->arg_cnt])) {
				err = -EINVAL;
				goto out;
			}
			sp->arg_cnt++;
		}
		sp->usdt_cookie = kinds[k];
		t[n] = (struct pym_target){ (uint64_t)po, (uint64_t)so, (uint64_t)n };
		*found |= 1u << k;
		n++;
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return err ? err : n;
}

/* BPF_LINK_CREATE of a uprobe_multi link (libbpf 1.1 predates it); each
 * target's cookie is the index of its spec. */
static int link_multi(int prog_fd, const char *path, const struct pym_target *t, int n,
		      uint32_t flags)
{
	uint64_t offs[PYM_MAX], refs[PYM_MAX], cookies[PYM_MAX];
	union {
		struct {
			uint32_t prog_fd, target_fd, attach_type, flags;
			uint64_t path, offsets, ref_ctr_offsets, cookies;
			uint32_t cnt, um_flags, pid;
		} lc;
		union bpf_attr attr;
	} a;
	int i, fd;

	for (i = 0; i < n; i++) {
		offs[i] = t[i].off;
		refs[i] = t[i].ref_ctr_off;
		cookies[i] = t[i].cookie;
	}
	memset(&a, 0, sizeof(a));
	a.lc.prog_fd = (uint32_t)prog_fd;
	a.lc.attach_type = MPX_TRACE_UPROBE_MULTI;
	a.lc.path = (uint64_t)(uintptr_t)path;
	a.lc.offsets = (uint64_t)(uintptr_t)offs;
	a.lc.ref_ctr_offsets = (uint64_t)(uintptr_t)refs;
	a.lc.cookies = (uint64_t)(uintptr_t)cookies;
	a.lc.cnt = (uint32_t)n;
	a.lc.um_flags = flags;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a.attr, sizeof(a.attr));
	return fd < 0 ? -errno : fd;
}

/*
 * Everything in at most three uprobe_multi links: the USDT probes (and the
 * GIL take when it is in the same file), the GIL take elsewhere, the GIL
 * take's return.  The audit probe is kept aside for pyprobe__audit().
 * Returns 0 or -errno (then nothing is attached).
 */
static int attach_multi(struct pyprobe *p, const struct pyprobe_opts *o, const char *usdt_path,
			const struct gil_probe *g)
{
	static const char *const names[] = {
		"import__find__load__start", "import__find__load__done", "gc__start",
		"gc__done", "audit", "function__entry", "function__return",
	};
	static const uint64_t kinds[] = {
		MPX_PY_IMPORT_START, MPX_PY_IMPORT_DONE, MPX_PY_GC_START, MPX_PY_GC_DONE,
		MPX_PY_AUDIT, MPX_PY_FUNC_ENTRY, MPX_PY_FUNC_RETURN,
	};
	struct pym_target t[PYM_MAX];
	struct usdt_spec specs[PYM_MAX];
	const char *gil_path = g->path;
	int n = 0, nu = 0, i, err, fd, specs_fd = bpf_map__fd(p->skel->maps.__bpf_usdt_specs);
	int entry = bpf_program__fd(p->skel->progs.py_multi);
	uint32_t found = 0;

	if (usdt_path) {
		nu = usdt_targets(usdt_path, names, kinds, o->functions ? 7 : 5, t, specs,
				  PYM_MAX - 1, &found);
		if (nu < 0)
			return nu;
		n = nu;
	}
	if (gil_path && !gil_one_probe(g)) {
		memset(&specs[n], 0, sizeof(specs[n]));
		specs[n].usdt_cookie = g->woken >= 0 ? PYM_GIL_WAIT : PYM_GIL_ENTER;
		t[n] = (struct pym_target){ (uint64_t)g->off, 0, (uint64_t)n };
		n++;
	}
	if (gil_path && gil_one_probe(g)) {
		memset(&specs[n], 0, sizeof(specs[n]));
		specs[n].usdt_cookie = PYM_GIL_PASS;
		t[n] = (struct pym_target){ (uint64_t)g->woken, 0, (uint64_t)n };
		n++;
	} else if (gil_path && g->woken >= 0) {
		memset(&specs[n], 0, sizeof(specs[n]));
		specs[n].usdt_cookie = PYM_GIL_WOKEN;
		t[n] = (struct pym_target){ (uint64_t)g->woken, 0, (uint64_t)n };
		n++;
	}
	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(specs_fd, &i, &specs[i], BPF_ANY))
			return -errno;
	/* The audit probe out of the shared link (cookies stay the specs'). */
	for (i = 0; i < nu; i++) {
		if (specs[i].usdt_cookie != MPX_PY_AUDIT)
			continue;
		p->audit_t = t[i];
		p->audit_multi = true;
		memmove(&t[i], &t[i + 1], (size_t)(n - i - 1) * sizeof(t[0]));
		nu--;
		n--;
		break;
	}
	/* The GIL take joins the USDT link when in the same file. */
	if (nu && (!gil_path || !strcmp(gil_path, usdt_path))) {
		fd = link_multi(entry, usdt_path, t, n, 0);
		if (fd < 0)
			return fd;
		p->mfd[p->nmfd++] = fd;
	} else {
		if (nu) {
			fd = link_multi(entry, usdt_path, t, nu, 0);
			if (fd < 0)
				return fd;
			p->mfd[p->nmfd++] = fd;
		}
		if (gil_path) {
			fd = link_multi(entry, gil_path, t + nu, n - nu, 0);
			if (fd < 0)
				goto fail;
			p->mfd[p->nmfd++] = fd;
		}
	}
	/* Entry and return of take_gil (or PyEval_RestoreThread); the
	 * condition-variable wait has its two probes in the link above. */
	if (gil_path && g->woken < 0) {
		fd = link_multi(bpf_program__fd(p->skel->progs.gil_exit_multi), gil_path,
				t + nu, 1, MPX_UPROBE_MULTI_RETURN);
		if (fd < 0)
			goto fail;
		p->mfd[p->nmfd++] = fd;
	}
	if (gil_path)
		p->attached |= g->kind;
	if ((found & 3) == 3)
		p->attached |= MPX_PYP_IMPORT;
	if ((found & 0xc) == 0xc)
		p->attached |= MPX_PYP_GC;
	if (found & 0x10)
		p->attached |= MPX_PYP_AUDIT;
	if ((found & 0x60) == 0x60)
		p->attached |= MPX_PYP_FUNC;
	return 0;
fail:
	err = fd;
	for (i = 0; i < p->nmfd; i++)
		close(p->mfd[i]);
	p->nmfd = 0;
	p->attached = 0;
	p->audit_multi = false;
	return err;
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
	if (p->attached & MPX_PYP_GIL_COND)
		NOTE("; GIL waits from take_gil's wait for the GIL in %s (an uncontended take "
		     "is not trapped)", gil_bin);
	else if (p->attached & MPX_PYP_GIL_TAKE)
		NOTE("; GIL waits from take_gil in %s", gil_bin);
	else if (p->attached & MPX_PYP_GIL_RESTORE)
		NOTE("; GIL waits from %s in %s only after blocking calls (take_gil is not a "
		     "visible symbol: the eval loop's hand-offs are not seen)", gil_sym, gil_bin);
	else
		NOTE("; no GIL waits (neither take_gil nor PyEval_RestoreThread is visible)");
#undef NOTE
}

static struct pyprobe *open_bin(struct pyprobe *p, const struct pyprobe_opts *o,
				 const struct pyprobe_maps *maps);

struct pyprobe *pyprobe__open(const struct pyprobe_opts *o, char *const argv[],
			      const struct pyprobe_maps *maps)
{
	struct pyprobe *p = calloc(1, sizeof(*p));
	char why[PATH_MAX + 64];

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
	return open_bin(p, o, maps);
}

struct pyprobe *pyprobe__open_bin(const struct pyprobe_opts *o, const char *bin,
				  uint32_t pid, const struct pyprobe_maps *maps)
{
	struct pyprobe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	fmt_to(p->bin, sizeof(p->bin), "%s", bin);
	p->pid = pid;
	return open_bin(p, o, maps);
}

static struct pyprobe *open_bin(struct pyprobe *p, const struct pyprobe_opts *o,
				 const struct pyprobe_maps *maps)
{
	struct elf_facts fb, fl;
	uint8_t before[OWN_FD_MAX / 8], after[OWN_FD_MAX / 8];
	struct gil_probe g = { NULL, -1, -1, 0, -1, -1 };
	const char *usdt_path = NULL;
	struct stat st;
	int i, err;

	if (!stat(p->bin, &st)) {
		p->dev = st.st_dev;
		p->ino = st.st_ino;
	}
	if (elf_scan(p->bin, &fb)) {
		p->note[0] = '\0';
		note_add(p, "no python probes: cannot read %s", p->bin);
		return p;
	}
	/* The libpython the process maps, else where the loader would look. */
	if (fb.needed_py[0] && !(p->pid && mapped_lib(p->pid, fb.needed_py, p->lib,
						       sizeof(p->lib))) &&
	    !find_lib(p->bin, &fb, p->lib, sizeof(p->lib)))
		p->lib[0] = '\0';
	if (p->lib[0] && elf_scan(p->lib, &fl))
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
	p->usdt_path = usdt_path;
	/* perf, gdb, uwsgi link libpython too, and run no script of their own. */
	p->interpreter = fb.usdt || fb.calls_py_main || !strncmp(base(p->bin), "python", 6);
	/* take_gil's wait on the GIL's condition variable, trapped only when
	 * the GIL is held by another thread; else take_gil's entry and return
	 * where take_gil is visible (every take trapped: twice, the return's
	 * the dearer); else PyEval_RestoreThread's entry and return.
	 * libpython first (it holds the interpreter). */
	if (p->lib[0] && fl.gil_wait >= 0)
		g = (struct gil_probe){ p->lib, fl.gil_wait, fl.gil_woken, GIL_COND,
					reg_num_off(fl.gil_regs[0]), reg_num_off(fl.gil_regs[1]) };
	else if (fb.gil_wait >= 0)
		g = (struct gil_probe){ p->bin, fb.gil_wait, fb.gil_woken, GIL_COND,
					reg_num_off(fb.gil_regs[0]), reg_num_off(fb.gil_regs[1]) };
	else if (p->lib[0] && fl.take_gil >= 0)
		g = (struct gil_probe){ p->lib, fl.take_gil, -1, MPX_PYP_GIL_TAKE, -1, -1 };
	else if (fb.take_gil >= 0)
		g = (struct gil_probe){ p->bin, fb.take_gil, -1, MPX_PYP_GIL_TAKE, -1, -1 };
	else if (p->lib[0] && fl.restore >= 0)
		g = (struct gil_probe){ p->lib, fl.restore, -1, MPX_PYP_GIL_RESTORE, -1, -1 };
	else if (fb.restore >= 0)
		g = (struct gil_probe){ p->bin, fb.restore, -1, MPX_PYP_GIL_RESTORE, -1, -1 };
	if (g.kind == GIL_COND) {
		const struct elf_facts *gf = g.path == p->lib ? &fl : &fb;

		mpx_info("python: GIL waits at the call to pthread_cond_timedwait at 0x%llx in %s\n",
			 (unsigned long long)gf->gil_wait_va, g.path);
		if (gil_one_probe(&g))
			mpx_info("python: one probe per pass, at that call's return: the mutex "
				 "in %%%s, the deadline at (%%%s)\n", reg_name(gf->gil_regs[0]),
				 reg_name(gf->gil_regs[1]));
	}
	p->gil_regs_off[0] = gil_one_probe(&g) ? g.mutex_off : 0;
	p->gil_regs_off[1] = gil_one_probe(&g) ? g.deadline_off : 0;

	fds_open(before);
	/* One program and uprobe_multi links where the kernel has them (one
	 * RCU grace period to release them all), else a link per probe. */
	err = load(p, o, maps, true);
	if (!err) {
		err = attach_multi(p, o, usdt_path, &g);
		if (err)
			mpx_info("python: uprobe_multi links: %s; a link per probe instead\n",
				 strerror(-err));
	}
	if (err) {
		pyusdt_bpf__destroy(p->skel);
		p->skel = NULL;
		err = load(p, o, maps, false);
	}
	if (err) {
		p->note[0] = '\0';
		note_add(p, "no python probes: loading their BPF "
			 "programs failed: %s", strerror(-err));
		pyusdt_bpf__destroy(p->skel);
		p->skel = NULL;
		return p;
	}
	if (!p->nmfd && usdt_path) {
		struct bpf_program *imp[] = { p->skel->progs.import_start,
					      p->skel->progs.import_done };
		struct bpf_program *gc[] = { p->skel->progs.gc_start, p->skel->progs.gc_done };
		struct bpf_program *fn[] = { p->skel->progs.func_entry,
					     p->skel->progs.func_return };
		const char *imp_n[] = { "import__find__load__start", "import__find__load__done" };
		const char *gc_n[] = { "gc__start", "gc__done" };
		const char *fn_n[] = { "function__entry", "function__return" };
		static const char *const au_n[] = { "audit" };
		static const uint64_t au_k[] = { MPX_PY_AUDIT };
		struct pym_target at;
		struct usdt_spec as;
		uint32_t found = 0;

		if (attach_usdt(p, usdt_path, imp, imp_n, 2))
			p->attached |= MPX_PYP_IMPORT;
		if (attach_usdt(p, usdt_path, gc, gc_n, 2))
			p->attached |= MPX_PYP_GC;
		/* Attached per process: here only whether it is there. */
		if (usdt_targets(usdt_path, au_n, au_k, 1, &at, &as, 1, &found) == 1)
			p->attached |= MPX_PYP_AUDIT;
		if (o->functions && attach_usdt(p, usdt_path, fn, fn_n, 2))
			p->attached |= MPX_PYP_FUNC;
	}
	p->missing = (MPX_PYP_IMPORT | MPX_PYP_GC | MPX_PYP_AUDIT) & ~p->attached;
	if (o->functions && !(p->attached & MPX_PYP_FUNC))
		p->missing |= MPX_PYP_FUNC;
	if (p->nmfd)
		;	/* attached above */
	else if (g.path && attach_gil(p, &g))
		p->attached |= g.kind;
	if (!(p->attached & MPX_PYP_GIL_TAKE))
		p->missing |= MPX_PYP_GIL_TAKE;
	fds_open(after);
	for (i = 0; i < OWN_FD_MAX / 8; i++)
		after[i] &= (uint8_t)~before[i];
	for (i = 0; i < OWN_FD_MAX && p->nown < 4 * MAX_LINKS; i++)
		if (after[i / 8] & (1u << (i % 8)))
			p->own_fd[p->nown++] = i;
	set_note(p, o, usdt_path != NULL, "PyEval_RestoreThread", g.path ? base(g.path) : "");
	if (p->pid)
		pyprobe__audit(p, p->pid);
	return p;
}

/* The field of perf_event_attr.config holding a uprobe's semaphore offset
 * (the uprobe PMU's format: "config:32-63"), or -1. */
static int ref_ctr_shift(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset", "re");
	int lo = -1;

	if (f) {
		if (fscanf(f, "config:%d", &lo) != 1)
			lo = -1;
		fclose(f);
	}
	return lo;
}

/*
 * A USDT probe (target t, its spec at t->cookie) on process pid only, as a
 * perf-event uprobe: the kernel's filter for those removes the breakpoint
 * from a process it does not want at its first hit (a uprobe_multi link's
 * pid filter leaves it there, trapping in every forked child).
 */
static struct bpf_link *attach_pid_probe(struct bpf_program *prog, const char *path,
					 const struct pym_target *t, uint32_t pid)
{
	LIBBPF_OPTS(bpf_perf_event_opts, po, .bpf_cookie = t->cookie);
	struct perf_event_attr a;
	int type = -1, shift = ref_ctr_shift(), pfd;
	struct bpf_link *l;
	FILE *f;

	f = fopen("/sys/bus/event_source/devices/uprobe/type", "re");
	if (f) {
		if (fscanf(f, "%d", &type) != 1)
			type = -1;
		fclose(f);
	}
	if (type < 0 || (t->ref_ctr_off && shift < 0)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = (uint32_t)type;
	a.config = t->ref_ctr_off ? t->ref_ctr_off << shift : 0;
	a.config1 = (uint64_t)(uintptr_t)path;
	a.config2 = t->off;
	pfd = (int)syscall(__NR_perf_event_open, &a, (pid_t)pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return NULL;
	l = bpf_program__attach_perf_event_opts(prog, pfd, &po);
	if (!l) {
		int err = errno;

		close(pfd);
		errno = err;
		return NULL;
	}
	/*
	 * The kernel runs the program at every hit whether the event is
	 * enabled or not: the probe's filter takes the process when the event
	 * is opened.  Enabled, the event is also scheduled in and out with
	 * its thread at each context switch; disabled (libbpf enabled it),
	 * only its perf context is.
	 */
	if (ioctl(pfd, PERF_EVENT_IOC_DISABLE, 0))
		mpx_info("python: audit probe on %u stays enabled: %s\n", pid, strerror(errno));
	return l;
}

/*
 * CPython raises audit events on hot paths: a Pool worker one per task it
 * unpickles (pickle.find_class), ~1 us each when trapped.  Attached to
 * every process mapping the interpreter, the probe also sets the probe's
 * semaphore (and so the trap) in every Python of the machine.  Attached to
 * one process, the kernel installs it there only: a child forked later
 * inherits the breakpoint, traps once and has it removed, and pays no more.
 * The events that mark a run (cpython.run_*, os.fork, subprocess.Popen,
 * PyInterpreterState_Clear) come from the processes that exec'd the
 * interpreter, which the caller names as they start.
 */
int pyprobe__audit(struct pyprobe *p, uint32_t pid)
{
	uint8_t before[OWN_FD_MAX / 8], after[OWN_FD_MAX / 8];
	struct bpf_link *l;
	int i, err;

	if (!p->skel || !(p->attached & MPX_PYP_AUDIT) || !p->usdt_path || !pid ||
	    !p->interpreter)
		return 0;
	for (i = 0; i < p->naudit; i++)
		if (p->audit_pid[i] == pid)
			return 0;
	if (p->naudit == MAX_AUDIT) {
		p->audit_skipped++;
		return -ENOSPC;
	}
	fds_open(before);
	if (p->audit_multi)
		l = attach_pid_probe(p->skel->progs.audit, p->usdt_path, &p->audit_t, pid);
	else
		l = bpf_program__attach_usdt(p->skel->progs.audit, (pid_t)pid, p->usdt_path,
					     "python", "audit", NULL);
	if (!l) {
		err = -errno;
		mpx_info("python: audit probe on pid %u: %s\n", pid, strerror(-err));
		return err;
	}
	/* Released by the helper (hand_off_links) with the others. */
	fds_open(after);
	for (i = 0; i < OWN_FD_MAX && p->nown < (int)(sizeof(p->own_fd) /
						      sizeof(p->own_fd[0])) - 1; i++)
		if (after[i / 8] & ~before[i / 8] & (1u << (i % 8)))
			p->own_fd[p->nown++] = i;
	p->audit_link[p->naudit] = l;
	p->audit_pid[p->naudit++] = pid;
	return 1;
}

/* Whether the ELF at path is a Python interpreter (python* by name, its
 * USDT probes, or a libpython it links). */
static bool elf_is_python(const char *path)
{
	struct elf_facts f;

	if (!strncmp(base(path), "python", 6))
		return true;
	return !elf_scan(path, &f) && (f.usdt || f.needed_py[0]);
}

bool pyprobe__covers(const struct pyprobe *p, const char *bin)
{
	struct stat st;

	return p->bin[0] && !stat(bin, &st) && st.st_dev == p->dev && st.st_ino == p->ino;
}

bool pyprobe__exec_python(uint32_t pid, const char *filename, char *bin, size_t sz)
{
	char link[64], why[PATH_MAX + 64];
	ssize_t n;

	/* Files found not to be Python (a build execs the same few often). */
	static struct {
		dev_t dev;
		ino_t ino;
	} no[64];
	static unsigned int nno;
	struct stat st;
	unsigned int i;

	/* What the process runs now: for a #! script, its interpreter. */
	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, bin, sz - 1);
	if (n > 0 && (size_t)n < sz - 1 && !stat(link, &st)) {
		bin[n] = '\0';
		for (i = 0; i < nno && i < 64; i++)
			if (no[i].dev == st.st_dev && no[i].ino == st.st_ino)
				return false;
		if (!strstr(bin, " (deleted)") && bin[0] == '/') {
			if (elf_is_python(bin))
				return true;
			no[nno % 64].dev = st.st_dev;
			no[nno % 64].ino = st.st_ino;
			nno++;
			return false;
		}
	}
	/* Gone already: what it exec'd, #! lines followed. */
	return filename[0] == '/' && pyprobe__resolve(filename, bin, sz, why, sizeof(why)) &&
	       elf_is_python(bin);
}

/* Split s into words at blanks and shell punctuation; call fn for each. */
static int scan_words(const char *s, char bins[][PATH_MAX], int n, int max, int *budget)
{
	char w[PATH_MAX], why[PATH_MAX + 64], bin[PATH_MAX];
	const char *e;
	int k;

	while (*s && n < max && *budget > 0) {
		s += strspn(s, " \t\n;&|()<>`'\"");
		e = s + strcspn(s, " \t\n;&|()<>`'\"");
		if (e == s)
			break;
		fmt_to(w, sizeof(w), "%.*s", (int)(e - s), s);
		s = e;
		if (w[0] == '-' || strchr(w, '=') || strchr(w, '$'))
			continue;
		(*budget)--;
		if (!pyprobe__resolve(w, bin, sizeof(bin), why, sizeof(why)) ||
		    !elf_is_python(bin))
			continue;
		for (k = 0; k < n; k++) {
			struct stat a, b;

			if (!strcmp(bins[k], bin) || (!stat(bins[k], &a) && !stat(bin, &b) &&
						      a.st_dev == b.st_dev && a.st_ino == b.st_ino))
				break;
		}
		if (k == n)
			fmt_to(bins[n++], PATH_MAX, "%s", bin);
	}
	return n;
}

int pyprobe__scan_argv(char *const argv[], char bins[][PATH_MAX], int max)
{
	int n = 0, budget = 64, i;

	for (i = 0; argv && argv[i] && n < max; i++)
		n = scan_words(argv[i], bins, n, max, &budget);
	return n;
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

void pyprobe__func_stats(const struct pyprobe *p, uint64_t st[4])
{
	int ncpu = libbpf_num_possible_cpus(), i;
	__u64 *v;
	__u32 k;

	memset(st, 0, 4 * sizeof(*st));
	if (!p->skel || ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return;
	for (k = 0; k < 4; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.func_stats), &k, v))
			continue;
		for (i = 0; i < ncpu; i++)
			st[k] += v[i];
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
 * Without uprobe_multi (before v6.6) each uprobe's unregistration waits for
 * an RCU grace period (~0.1 s on a small VM), one after the other: 0.7 s
 * for our seven.  A grandchild that
 * holds only the probes' fds pays that after we are gone; we close our
 * copies at once.  It waits for our closes (EOF on a pipe), so that its
 * closes are the last ones.
 */
static void hand_off_links(struct pyprobe *p)
{
	int pfd[2], i, status;
	pid_t c;

	/* uprobe_multi links release in one grace period (~35 ms each here):
	 * only perf-event uprobes (the per-probe fallback, the per-process
	 * audit probes) are worth a helper. */
	if ((!p->nlinks && !p->naudit) || !p->nown || pipe2(pfd, O_CLOEXEC))
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
	for (i = 0; i < p->naudit; i++) {
		bpf_link__destroy(p->audit_link[i]);
		p->audit_link[i] = NULL;
	}
	for (i = 0; i < p->nmfd; i++)
		close(p->mfd[i]);
	p->nmfd = 0;
	close(pfd[1]);
}

static void *close_fd(void *arg)
{
	close((int)(intptr_t)arg);
	return NULL;
}

/* Each release waits for a grace period: let the waits overlap. */
static void close_parallel(const int *fds, int n)
{
	pthread_t th[4];
	bool started[4] = {};
	int i;

	for (i = 0; i < n && i < 4; i++)
		started[i] = !pthread_create(&th[i], NULL, close_fd, (void *)(intptr_t)fds[i]);
	for (i = 0; i < n && i < 4; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			close(fds[i]);
	}
}

uint32_t pyprobe__audit_skipped(const struct pyprobe *p)
{
	return p ? p->audit_skipped : 0;
}

void pyprobe__prog_stats(const struct pyprobe *p, uint64_t st[2])
{
	uint64_t v[2];

	if (!p || !p->skel)
		return;
	bpf_obj_stats(p->skel->obj, v);
	st[0] += v[0];
	st[1] += v[1];
}

void pyprobe__destroy(struct pyprobe *p)
{
	int i;

	if (!p)
		return;
	hand_off_links(p);
	for (i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	for (i = 0; i < p->naudit; i++)
		bpf_link__destroy(p->audit_link[i]);
	close_parallel(p->mfd, p->nmfd);
	pyusdt_bpf__destroy(p->skel);
	free(p);
}
