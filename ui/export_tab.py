"""The Export tab of the Compare page: merge an adapter into its base as a standard model folder,
or download the adapter as a zip. The work is in core.models.export."""
from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.units import human_size
from ui.common import message_text, show_user_error, tr
from ui.run_labels import adapter_label_for
from ui.state import KEEP

ZIP_KEY = "cmp_zip"  # (adapter path, file name, bytes)
EXPORT_KEY = "cmp_export"  # ExportResult.to_dict() of the last merge


def export_tab(models, groups) -> None:
    from pathlib import Path

    from core.models import export as E

    st.caption(tr("compare.export_intro"))
    refs = [ref for group in groups for ref in group.adapters]
    if not refs:
        st.info(tr("compare.no_adapters"))
        return
    by_label = {ref.label: ref for ref in refs}
    labels = list(by_label)
    newest_final = len(groups[0].adapters) - 1  # the newest run's final adapter (or its last checkpoint)
    label = st.selectbox(tr("compare.export_adapter"), labels, index=newest_final, key="cmp_export_adapter",
                         persist_state=KEEP, format_func=adapter_label_for(refs))
    ref = by_label[label]
    names = [m.name for m in models]
    by_path = {str(Path(m.path).resolve()): m.name for m in models}
    run_base = by_path.get(str(Path(ref.base_model).resolve())) if ref.base_model else None
    if run_base is None:
        st.warning(tr("compare.export_base_missing", base=ref.base_model))
    c1, c2 = st.columns(2)
    base = c1.selectbox(tr("compare.export_base"), names, index=names.index(run_base) if run_base else 0,
                        key=f"cmp_export_base_{ref.run_id}", persist_state=KEEP)
    name = c2.text_input(tr("compare.export_name"), E.default_export_name(Path(ref.path)),
                         key=f"cmp_export_name_{label}", persist_state=KEEP)
    c3, c4, c5 = st.columns(3)
    dtype = c3.selectbox(tr("compare.export_dtype"), list(E.DTYPES), key="cmp_export_dtype", persist_state=KEEP,
                         format_func=lambda d: tr("compare.dtype_auto") if d == "auto" else d)
    shard = c4.selectbox(tr("compare.export_shard"), ["500MB", "1GB", "2GB", "5GB"], index=2, key="cmp_export_shard", persist_state=KEEP)
    overwrite = c5.checkbox(tr("compare.export_overwrite"), False, key="cmp_export_overwrite")
    st.caption(tr("compare.export_note"))
    if st.button(tr("compare.merge"), type="primary", key="cmp_merge", disabled=not names):
        bar = st.progress(0.0)
        try:
            result = E.merge_adapter(base, ref.path, name=name, dtype=dtype, max_shard_size=shard,
                                     overwrite=overwrite, progress=lambda f, m: bar.progress(f, text=message_text(m)))
            st.session_state[EXPORT_KEY] = result.to_dict()
            st.rerun()  # the merged model joins every model list on this run's redraw
        except UserError as err:
            show_user_error(err)
        finally:
            bar.empty()
    done = st.session_state.get(EXPORT_KEY)
    if done:
        st.success(tr("compare.merged", path=done["path"], size=human_size(done["size_bytes"]), dtype=done["dtype"],
                      seconds=done["seconds"], name=Path(done["path"]).name))

    st.markdown(f"#### {tr('compare.zip_title')}")
    state = st.checkbox(tr("compare.zip_training_state"), False, key="cmp_zip_state", persist_state=KEEP)
    if st.button(tr("compare.zip_prepare"), key="cmp_zip_prepare"):
        bar = st.progress(0.0)
        try:
            data = E.adapter_zip_bytes(ref.path, include_training_state=state,
                                       progress=lambda f, m: bar.progress(f, text=message_text(m)))
            st.session_state[ZIP_KEY] = (ref.path, E.adapter_zip_name(Path(ref.path)), data)
        except UserError as err:
            show_user_error(err)
        finally:
            bar.empty()
    prepared = st.session_state.get(ZIP_KEY)
    if prepared and prepared[0] == ref.path:
        st.download_button(tr("compare.zip_download", name=prepared[1], size=human_size(len(prepared[2]))),
                           prepared[2], file_name=prepared[1], mime="application/zip", key="cmp_zip_download")
