"""Entry point: `streamlit run Home.py` (./run.sh does it). Routes the pages and shows Home.

The router asks for the password when one is configured, then hands over to the chosen page
with st.navigation. The Home page itself shows the machine (GPU or CPU, memory, disk,
library versions) and what the workspace holds, with links to every page. No torch import
here: GPU facts come from nvidia-smi, versions from package metadata.
"""
from __future__ import annotations

import streamlit as st

from ui.auth import require_password
from core.units import human_size
from ui.common import lang, page_start, tr
from ui.kb_sync import start_sync_scheduler
from ui.quick_start import quick_start

PAGES = [
    ("views/7_Models.py", "nav.models", ":material/deployed_code:", "models"),
    ("views/1_Datasets.py", "nav.datasets", ":material/dataset:", "datasets"),
    ("views/2_Train.py", "nav.train", ":material/model_training:", "train"),
    ("views/3_Monitor.py", "nav.monitor", ":material/monitoring:", "monitor"),
    ("views/4_Compare.py", "nav.compare", ":material/compare:", "compare"),
    ("views/5_Knowledge.py", "nav.knowledge", ":material/library_books:", "knowledge"),
    ("views/6_Chat.py", "nav.chat", ":material/chat:", "chat"),
    ("views/8_Serve.py", "nav.serve", ":material/api:", "serve"),
]


def home() -> None:
    from core import workspace
    from core.data.store import list_datasets
    from core.models.registry import list_models
    from core.system import system_info
    from core.train.runs import list_runs

    page_start("home.title")
    st.caption(tr("home.tagline"))
    info = system_info(str(workspace.home()))
    models, datasets, runs = list_models(), list_datasets(), list_runs()

    cols = st.columns(3)
    cols[0].metric(tr("home.models"), len(models))
    cols[1].metric(tr("home.datasets"), len(datasets))
    live = sum(1 for r in runs if r.live)
    cols[2].metric(tr("home.runs"), len(runs), delta=tr("home.live", n=live) if live else None)
    from ui.run_health import stalled_warning

    for status in runs:
        if status.status == "running":
            stalled_warning(status, "home")

    quick_start({slug: path for path, _, _, slug in PAGES})

    st.subheader(tr("home.start_here"))
    links = st.columns(3)
    for i, (path, _, icon, key) in enumerate(PAGES):
        links[i % 3].page_link(path, label=tr(f"home.step_{key}"), icon=icon, query_params={"lang": lang()})

    st.subheader(tr("home.environment"))
    left, right = st.columns(2)
    with left:
        if info.gpus:
            for gpu in info.gpus:
                st.success(tr("home.gpu", index=gpu.index, name=gpu.name, memory=human_size(gpu.total_bytes)))
        else:
            st.info(tr("home.cpu_only", cores=info.cpu_count))
        st.write(f"**{tr('home.ram')}**: {human_size(info.ram_available_bytes)} / {human_size(info.ram_total_bytes)}")
        st.write(f"**{tr('home.disk')}**: {human_size(info.disk_free_bytes)}")
        st.write(f"**{tr('home.workspace')}**: `{workspace.home()}`")
        st.caption(tr("home.model_dirs", models=workspace.models_dir()))
    with right:
        st.write(f"**{tr('home.versions')}**")
        st.dataframe([{tr("home.col.library"): k, tr("home.col.version"): v} for k, v in info.versions.items()],
                     hide_index=True, width="stretch")
    if models:
        st.subheader(tr("home.models"))
        st.dataframe(
            [{tr("home.col.name"): m.name, tr("home.col.architecture"): m.architecture,
              tr("home.col.size"): human_size(m.size_bytes),
              tr("home.col.chat_template"): "✓" if m.has_chat_template else "—", tr("home.col.path"): m.path}
             for m in models],
            hide_index=True, width="stretch",
        )


def main() -> None:
    st.set_page_config(page_title="Fine-tuning workbench", page_icon=":material/tune:", layout="wide")
    require_password()
    start_sync_scheduler()   # knowledge bases that follow a folder sync on their schedule
    pages = [st.Page(home, title=tr("nav.home"), icon=":material/home:", default=True, url_path="home")]
    pages += [st.Page(path, title=tr(key), icon=icon, url_path=slug) for path, key, icon, slug in PAGES]
    st.navigation(pages).run()


main()
