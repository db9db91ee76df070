/* A program for the exec provider's tests: writes what it was started with
 * (argv, environment, open file descriptors) to the file named by its first
 * argument, one "argv X" / "env X" / "fd N" line each, then answers the
 * request with a fixed reply. A compiled program, because a shell or Python
 * would add variables of their own to the environment it reports. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    FILE *out = fopen(argv[1], "we");
    if (out == NULL) return 1;
    for (int i = 0; i < argc; ++i) fprintf(out, "argv %s\n", argv[i]);
    for (char **e = environ; *e != NULL; ++e) fprintf(out, "env %s\n", *e);
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        for (struct dirent *ent; (ent = readdir(d)) != NULL;)
            if (ent->d_name[0] != '.' && atoi(ent->d_name) != dirfd(d) && atoi(ent->d_name) != fileno(out))
                fprintf(out, "fd %s\n", ent->d_name);
        closedir(d);
    }
    fclose(out);
    char buf[4096];
    while (fread(buf, 1, sizeof buf, stdin) > 0) {
    }
    /* "AAECAw==" is 00 01 02 03. */
    puts("{\"keyId\":\"envdump:k/1\",\"data\":\"AAECAw==\"}");
    return 0;
}
