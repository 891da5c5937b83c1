/* Deterministic firmware images: the same seed and size give the same bytes. */
#include <stdlib.h>

#include "mock_priv.h"

int mc_image_make(size_t size, unsigned seed, mc_image *out)
{
    out->size = size;
    out->data = malloc(size ? size : 1);
    if (!out->data)
        return MC_ERR_NOMEM;
    for (size_t i = 0; i < size; i++)
        out->data[i] = (unsigned char)((i * 31 + 7 + seed) % 251);
    return MC_OK;
}

void mc_image_free(mc_image *img)
{
    free(img->data);
    img->data = NULL;
    img->size = 0;
}
