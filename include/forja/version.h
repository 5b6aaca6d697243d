/* The one place the version is written; the Makefile and packages read it. */
#ifndef FORJA_VERSION_H
#define FORJA_VERSION_H
#define FORJA_VERSION "0.1.0"
#endif
