"""Texts of the password gate (ui/auth.py) beyond the sign-in form's own."""

TEXTS = {
    "auth.refuse_public": {
        "en": "This workbench listens on {address}, beyond this machine, but WORKBENCH_PASSWORD is not set, so it "
              "shows nothing: anyone who can reach it could run code on this server. Restart it with "
              "WORKBENCH_PASSWORD=... ./run.sh --host {address}, or keep the default 127.0.0.1 and use "
              "ssh -L 6006:127.0.0.1:6006 server.",
        "zh": "本工作台监听在 {address}（本机以外可访问），但没有设置 WORKBENCH_PASSWORD，因此不显示任何内容："
              "能访问它的人都可以在这台服务器上运行代码。请用 WORKBENCH_PASSWORD=... ./run.sh --host {address} "
              "重新启动，或保持默认的 127.0.0.1 并使用 ssh -L 6006:127.0.0.1:6006 server。",
    },
    "auth.slowed": {
        "en": "After wrong passwords each new attempt waits longer before it is checked.",
        "zh": "密码输错后，每次新的尝试都要等待更久才会被校验。",
    },
}
