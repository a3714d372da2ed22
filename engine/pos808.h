/* pos808.h: a JT/T 808 location (0x0200 body, also a JT/T 809-2019 GNSS_DATA) as a store
 * position. Shared by the 808 sessions and the 809 link server. */
#ifndef RW_POS808_H
#define RW_POS808_H

#include "engine/proto/jt808.h"
#include "store/store.h"

/* Copies the location fields of <l> into <p>; vehicle, receive time, source and flags are
 * the caller's. */
static inline void pos808_fill(struct store_pos *p, const struct jt808_loc *l)
{
    p->gnss_time = l->time;
    p->lat_e6 = jt808_loc_lat_e6(l);
    p->lon_e6 = jt808_loc_lon_e6(l);
    p->alarm = l->alarm;
    p->status = l->status;
    p->mileage_hm = l->mileage_hm;
    p->speed_dkmh = l->speed_dkmh;
    p->tacho_speed_dkmh = l->tacho_speed_dkmh;
    p->direction = l->direction;
    p->altitude_m = (int16_t)l->altitude_m;
    p->fuel_dl = l->fuel_dl;
    p->rssi = l->rssi;
    p->sats = l->sats;
    p->present = l->present;
}

#endif
