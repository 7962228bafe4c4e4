"""The local backend: the NemoVideo API served on loopback, and the renderer behind it.

Needs the ``local`` extra (``pip install 'image-to-video-ai-jiggle[local]'``).
"""
