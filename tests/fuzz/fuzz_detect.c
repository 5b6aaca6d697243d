/* libFuzzer target: the project-file readers of detect.c (Makefile,
 * package.json, pyproject.toml, …).  The first byte picks the file, the
 * rest is its content, written to a scratch directory and detected. */
#include <fcntl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forja/detect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = {
	"Makefile", "package.json", "pyproject.toml", "setup.cfg", "tox.ini", "Cargo.toml",
	"go.mod", "CMakeLists.txt", "meson.build", "justfile", "Taskfile.yml", "deno.json",
	"Rakefile", "build.gradle", "pom.xml", "pytest.ini",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	char path[128];
	struct bs_command *cmds = NULL;
	size_t n = 0;
	struct ferr e = FERR_INIT;
	int fd;

	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/tmp/forja-fuzz-detect.%d", (int)getpid());
		mkdir(dir, 0700);
	}
	if (size < 1)
		return 0;
	const char *name = files[data[0] % (sizeof files / sizeof *files)];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 0;
	if (write(fd, data + 1, size - 1) < 0) {
		close(fd);
		return 0;
	}
	close(fd);
	detect_commands(dir, "", &cmds, &n, &e);
	for (size_t i = 0; i < n; i++)
		for (const char *p = cmds[i].command; *p; p++)
			if ((unsigned char)*p < 0x20)
				abort();
	detect_commands_free(cmds, n);
	unlink(path);
	return 0;
}
