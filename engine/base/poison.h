/* poison.h: functions banned from roadwatch (STYLE §12). Force-included into every
 * translation unit by the build, so using one of these is a compile error.
 * sprintf/strcpy/strcat/gets have no bound; strtok keeps hidden state; atoi cannot report
 * errors. Use snprintf, memcpy with a checked length, strtok_r and strtol instead. */
#ifndef RW_POISON_H
#define RW_POISON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#pragma GCC poison sprintf vsprintf strcpy strcat gets strtok atoi
#endif
