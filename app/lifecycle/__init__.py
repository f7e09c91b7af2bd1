"""A pupil's SEN status over time, shared by pupils, plans, cycles and EHC requests.

The pupil and support-plan events (`pupil.*`, `plan.*`), `sen_status` changes, and the end of a
support plan are needed by every package that moves a pupil's status; they live here, below
those packages, so that none of them imports another to reach them.
"""
