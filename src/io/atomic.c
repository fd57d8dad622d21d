/* atomic.c: atomic file output. Everything is written to "<path>.tmp-<pid>-<n>" in the
 * destination's directory, then fsync'd, renamed over the destination and the directory fsync'd,
 * so a crash or a failed command never leaves a partial file under the final name. */
#include "touchpoint/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long tmp_counter; /* distinct temp names within a process (atomic increments) */

tp_status tp_atomic_open(const char *path, tp_atomic_file *af) {
    tp_status rc = TP_OK;
    memset(af, 0, sizeof *af);
    if (!path || !*path) return tp_fail(TP_ERR_ARG, "atomic write: empty path");
    unsigned long n = __atomic_fetch_add(&tmp_counter, 1, __ATOMIC_RELAXED);
    size_t cap = strlen(path) + 64;
    af->path = tp_strdup(path);
    af->tmp_path = tp_malloc(cap);
    if (!af->path || !af->tmp_path) {
        rc = tp_fail(TP_ERR_NOMEM, "atomic write '%s': out of memory", path);
        goto done;
    }
    snprintf(af->tmp_path, cap, "%s.tmp-%ld-%lu", path, (long)getpid(), n);
    int fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = tp_fail(TP_ERR_IO, "cannot create '%s': %s", af->tmp_path, strerror(errno));
        goto done;
    }
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        rc = tp_fail(TP_ERR_IO, "cannot open '%s': %s", af->tmp_path, strerror(errno));
        close(fd);
        unlink(af->tmp_path);
        goto done;
    }
done:
    if (rc != TP_OK) {
        tp_free(af->path);
        tp_free(af->tmp_path);
        memset(af, 0, sizeof *af);
    }
    return rc;
}

// The directory holding path (a new string), for the fsync after the rename.
static char *dir_of(const char *path) {
    char *dir = tp_strdup(path);
    if (!dir) return NULL;
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    return dir;
}

// fsync a directory so a rename inside it is durable.
static tp_status fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return tp_fail(TP_ERR_IO, "cannot open directory '%s': %s", dir, strerror(errno));
    tp_status rc = TP_OK;
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) /* some filesystems refuse dir fsync */
        rc = tp_fail(TP_ERR_IO, "cannot fsync directory '%s': %s", dir, strerror(errno));
    close(fd);
    return rc;
}

tp_status tp_atomic_commit(tp_atomic_file *af) {
    tp_status rc = TP_OK;
    if (!af->fp) return tp_fail(TP_ERR_ARG, "atomic commit: file is not open");
    char *dir = dir_of(af->path); /* before the rename: nothing may fail after it but the fsync */
    int err = dir ? 0 : ENOMEM;
    if (fflush(af->fp) != 0) err = errno;
    if (!err && fsync(fileno(af->fp)) != 0) err = errno;
    if (fclose(af->fp) != 0 && !err) err = errno;
    af->fp = NULL;
    if (err) {
        rc = tp_fail(err == ENOMEM ? TP_ERR_NOMEM : TP_ERR_IO, "cannot write '%s': %s",
                     af->tmp_path, strerror(err));
        unlink(af->tmp_path);
        goto done;
    }
    if (rename(af->tmp_path, af->path) != 0) {
        rc = tp_fail(TP_ERR_IO, "cannot rename '%s' to '%s': %s", af->tmp_path, af->path,
                     strerror(errno));
        unlink(af->tmp_path);
        goto done;
    }
    rc = fsync_dir(dir);
done:
    tp_free(dir);
    tp_free(af->path);
    tp_free(af->tmp_path);
    af->path = af->tmp_path = NULL;
    return rc;
}

void tp_atomic_abort(tp_atomic_file *af) {
    if (af->fp) fclose(af->fp);
    if (af->tmp_path) unlink(af->tmp_path);
    tp_free(af->path);
    tp_free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

tp_status tp_atomic_write(const char *path, const void *data, size_t n) {
    tp_atomic_file af;
    tp_status rc = tp_atomic_open(path, &af);
    if (rc != TP_OK) return rc;
    if (n && fwrite(data, 1, n, af.fp) != n) {
        rc = tp_fail(TP_ERR_IO, "cannot write '%s': %s", af.tmp_path, strerror(errno));
        tp_atomic_abort(&af);
        return rc;
    }
    return tp_atomic_commit(&af);
}

tp_status tp_mkdirs(const char *path) {
    tp_status rc = TP_OK;
    if (!path || !*path) return tp_fail(TP_ERR_ARG, "mkdirs: empty path");
    char *p = tp_strdup(path);
    if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory");
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    for (char *s = p + 1;; s++) {
        bool end = *s == '\0';
        if (*s == '/' || end) {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                rc = tp_fail(TP_ERR_IO, "cannot create directory '%s': %s", p, strerror(errno));
                goto done;
            }
            *s = c;
            if (end) break;
        }
    }
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = tp_fail(TP_ERR_IO, "'%s' exists and is not a directory", p);
done:
    tp_free(p);
    return rc;
}
