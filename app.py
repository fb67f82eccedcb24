"""mnpo-bench dashboard: `streamlit run app.py [-- --runs-dir runs --leaderboards-dir leaderboards]`
(or `mnpo-bench dashboard`). The pages live in mnpo_bench/dashboard/; see docs/dashboard.md."""

from mnpo_bench.dashboard.app import main

main()
