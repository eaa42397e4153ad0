"""What the pages share, in one import (`from dashboard_pages import common`): this file only re-exports.

- dashboard_pages/registry_access.py: the store, registry tables cached for 60 s, the first-run build
- dashboard_pages/loaded.py: models shared by every session (the original, registered versions behind their
  locks, LPIPS) and the cartoons they made, cached by photo content
- dashboard_pages/photos.py: photo pickers (upload or bundled sample), PNG and zip downloads
- dashboard_pages/labels.py: version labels, stars, machine labels
"""

from dashboard_pages.labels import environments, stars, version_label  # noqa: F401
from dashboard_pages.loaded import (cartoon, identity_distances, identity_unavailable, live_variant,  # noqa: F401
                                    lpips_metric, measured_pass, original_cartoonizer, portrait_available,
                                    warm_shapes)
from dashboard_pages.photos import (UPLOAD_TYPES, digest, photo_picker, photos_picker, png,  # noqa: F401
                                    read_sample, read_upload, zip_images)
from dashboard_pages.registry_access import (DEFAULT_ENTRIES, DEFAULT_STYLE, first_run_screen,  # noqa: F401
                                             history_of, records_of, registered_styles, registry_changed,
                                             regressions_of, require_registry, run_build, store, store_key,
                                             registry_speedups, style_picker, this_machine, versions_table)
