/*
 * The user's own firmware (the profile's firmware section, or --firmware and
 * --firmware-build): which version a test pushes, the image for it (a given
 * file, or built once per version into the cache), and the variants made
 * from real images (a broken header, another product's image, a diff). It
 * does not judge; the tests do.
 *
 * Returns as in ct.h: 0, or -1 with why; ct_fw_on, ct_fw_checks and
 * ct_fw_can_flash answer questions (1 or 0); ct_fw_pick has a third answer
 * (0: the caller's own version stands).
 */
#ifndef CT_FIRMWARE_H
#define CT_FIRMWARE_H

#include <stddef.h>

#include "otadut/profile.h"
#include "otamock/mock.h"

/*
 * Take the run's firmware section (a copy) and make its cache folder: the
 * profile's cache, else scratch/firmware. 0 without a section; -1 with a
 * sentence in err when a file is unreadable or the cache cannot be made.
 * bindir (the suite's programs, ota-image among them) goes first on the
 * PATH of every firmware command; state_dir (a process device's
 * OTA_STATE_DIR, NULL for others) is flashCommand's {state_dir}.
 */
int ct_fw_setup(const dut_profile *p, const char *scratch, const char *state_dir,
                const char *bindir, int quiet, char *err, size_t errcap);
/* 1 when the run has a firmware section. */
int ct_fw_on(void);
/* 1 when the device checks its images (firmware.checks). */
int ct_fw_checks(void);
/* The section itself (valid after ct_fw_setup). */
const dut_firmware *ct_fw_cfg(void);
/*
 * Before the device starts (first_version NULL): run flashCommand with the
 * image of the profile's firmwareVersion when reflash asks for it. After its
 * first boot: build the first target's image, so a build command that fails
 * stops the run before any test. -1 with err.
 */
int ct_fw_start(const char *first_version, char *err, size_t errcap);

/*
 * The next target version for a test when the section chooses it (files):
 * 1 with it in v; 0 when the caller's fresh upward version stands (build);
 * -1 with why when no image can be a target (upward files all at or below
 * the running version).
 */
int ct_fw_pick(char *v, size_t cap, const char *running, char *why, size_t whycap);
/*
 * The image file of version for module, made for about `want` bytes (a
 * build's {size}; a file's own size otherwise). 0 with its path; -1 with why.
 */
int ct_fw_image(const char *version, const char *module, size_t want, char *path, size_t cap,
                char *why, size_t whycap);

typedef enum {
    CT_FW_HEADER = 0, /* the image with its first byte (the header's magic) flipped */
    CT_FW_FOREIGN,    /* firmware.foreign: an image the device must refuse */
    CT_FW_DIFF        /* firmware.diff from `from` to version */
} ct_fw_variant_kind;

/* A variant of version's image into path; -1 with why (a missing command says so). */
int ct_fw_variant(ct_fw_variant_kind kind, const char *from, const char *version, char *path,
                  size_t cap, char *why, size_t whycap);

/*
 * In ct_push: a spec without image_path gets its version's real image (path
 * is the caller's buffer for it), the real size, and fault offsets scaled to
 * it. The test ends inconclusive, and the run stops (exit 3), when the image
 * cannot be made.
 */
void ct_fw_apply(mc_job_spec *s, char *path, size_t cap);
/*
 * Before the first test, one push with no fault. With a firmware section, of
 * the user's own image of the first target: when the device answers a failure
 * step, -1 with the sentence that stops the run (quoting the device's
 * report), so a broken build is not blamed on the device under unrelated
 * rules; not installed within the FAIL-2 and FINAL-1 bounds, a line says so
 * and the tests judge it (0); a good image leaves
 * the device on that version, the next target above it. Without one, for a
 * device that declares the image-check capability, of a generated image: when
 * the device refuses it with -3, one sentence on the terminal (unless quiet)
 * and in the trace says it needs a firmware section, and the run goes on.
 */
int ct_fw_probe(int quiet, char *err, size_t errcap);
/* That sentence; NULL when there was none. */
const char *ct_fw_refused(void);
/*
 * Put the board back on a known image: flashCommand with the image of the
 * profile's firmwareVersion, or of the first file when no file holds it (between tests when the
 * device does not come up; when upward files are used up). `reason` goes to the terminal and the
 * trace. 0 when it ran; -1 without a flashCommand or a firmware section, or
 * when it failed (the trace says why). The caller reboots the device.
 */
int ct_fw_recover(const char *reason);
/* 1 when the run has a firmware section and the profile a flashCommand. */
int ct_fw_can_flash(void);
/* A build failed during a test: the sentence that stops the run; NULL when none did. */
const char *ct_fw_fatal(void);

#endif
